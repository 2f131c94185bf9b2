/**
 * Shots -> scenes -> canvas graph. A caller describes intent (what happens, for how long, from
 * which picture); this module decides node ids, wiring and geometry.
 */
import { randomText } from '../util/ids.js';

export interface ShotInput {
  prompt: string;
  image_prompt?: string;
  image_asset_id?: string;
  duration_s?: number;
}

export const DEFAULT_DURATION_S = 5;

export type SceneStatus = 'draft' | 'generating' | 'generated' | 'failed';

/** A scene as stored (one row of workflow_scenes). */
export interface SceneRow {
  workflow_id: string;
  node_id: string;
  image_node_id: string;
  account_id: string;
  position: number;
  prompt: string;
  image_prompt: string | null;
  image_asset_id: string | null;
  duration_s: number;
  status: SceneStatus;
  image_key: string | null;
  clip_key: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

export interface GraphNode {
  id: string;
  type: 'image' | 'video';
  position: { x: number; y: number };
  data: Record<string, unknown>;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
}

/** Grid geometry: scenes left to right, wrapping every SCENES_PER_ROW; image above-left of its video. */
export const LAYOUT = { columnWidth: 640, rowHeight: 420, videoOffsetX: 300, videoOffsetY: 0, scenesPerRow: 6 } as const;

function nodeSuffix(): string {
  return randomText(6);
}

/** New node ids for one scene. */
export function newSceneNodeIds(): { node_id: string; image_node_id: string } {
  const s = nodeSuffix();
  return { node_id: `nd_vid_${s}`, image_node_id: `nd_img_${s}` };
}

/** The stored fields a shot determines (what "the shot is unchanged" compares). */
export function shotFields(shot: ShotInput): Pick<SceneRow, 'prompt' | 'image_prompt' | 'image_asset_id' | 'duration_s'> {
  return {
    prompt: shot.prompt,
    image_prompt: shot.image_asset_id ? null : (shot.image_prompt ?? null),
    image_asset_id: shot.image_asset_id ?? null,
    duration_s: shot.duration_s ?? DEFAULT_DURATION_S,
  };
}

export function sameShot(scene: Pick<SceneRow, 'prompt' | 'image_prompt' | 'image_asset_id' | 'duration_s'>, shot: ShotInput): boolean {
  const f = shotFields(shot);
  return scene.prompt === f.prompt && scene.image_prompt === f.image_prompt
    && scene.image_asset_id === f.image_asset_id && Number(scene.duration_s) === f.duration_s;
}

export function positionOf(index: number, kind: 'image' | 'video'): { x: number; y: number } {
  const col = index % LAYOUT.scenesPerRow;
  const row = Math.floor(index / LAYOUT.scenesPerRow);
  const x = col * LAYOUT.columnWidth + (kind === 'video' ? LAYOUT.videoOffsetX : 0);
  const y = row * LAYOUT.rowHeight + (kind === 'video' ? LAYOUT.videoOffsetY : 0);
  return { x, y };
}

/**
 * The canvas graph of a workflow: per scene an image node wired into a video node. `urls`
 * supplies signed URLs for generated artifacts (keyed by node id).
 */
export function buildGraph(
  scenes: readonly SceneRow[],
  urls: (scene: SceneRow) => { image_url: string | null; clip_url: string | null },
): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  for (const scene of scenes) {
    const { image_url, clip_url } = urls(scene);
    const index = Number(scene.position);
    nodes.push({
      id: scene.image_node_id,
      type: 'image',
      position: positionOf(index, 'image'),
      data: {
        scene_index: index,
        prompt: scene.image_prompt ?? scene.prompt,
        ...(scene.image_asset_id ? { asset_id: scene.image_asset_id } : {}),
        url: image_url,
      },
    });
    nodes.push({
      id: scene.node_id,
      type: 'video',
      position: positionOf(index, 'video'),
      data: { scene_index: index, prompt: scene.prompt, duration_s: Number(scene.duration_s), status: scene.status, url: clip_url },
    });
    edges.push({ id: `e_${scene.image_node_id}_${scene.node_id}`, source: scene.image_node_id, target: scene.node_id });
  }
  return { nodes, edges };
}
