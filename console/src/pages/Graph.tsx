import type { GraphEdge, GraphNode, Scene } from '@lavendly/sdk';

const W = 180;
const H = 56;

/**
 * The workflow's image -> video graph drawn where the API placed each node (`position`), scaled
 * to fit; the same facts are listed in text for screen readers.
 */
export function Graph(props: { nodes: GraphNode[]; edges: GraphEdge[]; scenes: Scene[] }) {
  const { nodes, edges } = props;
  if (!nodes.length) return null;
  const xs = nodes.map((n) => n.position.x);
  const ys = nodes.map((n) => n.position.y);
  const minX = Math.min(...xs) - 20;
  const minY = Math.min(...ys) - 20;
  const width = Math.max(...xs) - minX + W + 20;
  const height = Math.max(...ys) - minY + H + 20;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const status = new Map(props.scenes.flatMap((s) => [[s.node_id, s.status], [s.image_node_id, s.image_url ? 'generated' : s.status === 'generating' ? 'generating' : 'draft']] as const));
  const label = (n: GraphNode) => `${n.type === 'image' ? 'Image' : 'Video'} ${typeof n.data.scene_index === 'number' ? `· scene ${n.data.scene_index + 1}` : ''}`;
  return (
    <figure class="graph">
      <div class="graph-scroll" tabIndex={0} role="region" aria-label="Graph (scrolls sideways)">
        <svg viewBox={`${minX} ${minY} ${width} ${height}`} width={width} height={height} role="img" aria-labelledby="graph-cap">
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
              <path d="M0,0 L10,5 L0,10 z" class="arrow" />
            </marker>
          </defs>
          {edges.map((e) => {
            const a = byId.get(e.source);
            const b = byId.get(e.target);
            if (!a || !b) return null;
            return <line key={e.id} class="edge" x1={a.position.x + W} y1={a.position.y + H / 2} x2={b.position.x} y2={b.position.y + H / 2} marker-end="url(#arrow)" />;
          })}
          {nodes.map((n) => (
            <g key={n.id} class={`node t-${n.type} s-${status.get(n.id) ?? 'draft'}`} transform={`translate(${n.position.x} ${n.position.y})`}>
              <rect width={W} height={H} rx="8" />
              <text x="12" y="23">{label(n)}</text>
              <text x="12" y="43" class="sub">{status.get(n.id) ?? 'draft'}</text>
            </g>
          ))}
        </svg>
      </div>
      <figcaption id="graph-cap">
        Graph: {nodes.length} nodes, {edges.length} wires. {edges.map((e) => {
          const a = byId.get(e.source);
          const b = byId.get(e.target);
          return a && b ? `${label(a)} feeds ${label(b)}. ` : '';
        })}
      </figcaption>
    </figure>
  );
}
