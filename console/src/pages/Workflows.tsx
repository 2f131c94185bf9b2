import { useState } from 'preact/hooks';
import type { WorkflowSummary } from '@lavendly/sdk';
import { api } from '../api.js';
import { Badge, ErrorText } from '../components/Alert.js';
import { Shell } from '../components/Shell.js';
import { credits, when } from '../format.js';
import { useAction, useLoad } from '../hooks.js';
import { Link, navigate } from '../router.js';
import { Stored } from '../text.js';

function statusOf(w: WorkflowSummary): string {
  if (w.scene_count > 0 && w.scenes_generated === w.scene_count) return 'generated';
  return w.scenes_generated > 0 ? 'partial' : 'draft';
}

/** Each row's cost: what generating the rest would reserve now (estimate_cost). */
function Cost(props: { id: string }) {
  const est = useLoad(() => api.generate.estimateCost({ id: props.id }), [props.id]);
  if (est.error) return <span title={est.error}>-</span>;
  if (!est.data) return <span aria-busy="true">…</span>;
  return <span>{credits(est.data.total)}{est.data.remaining !== est.data.total ? ` (${est.data.remaining} to go)` : ''}</span>;
}

/**
 * A page at a time: each row asks for its own cost estimate, so showing hundreds at once would
 * spend the session's whole per-minute request allowance (and a cap would hide the rest).
 */
const PAGE = 25;

export function Workflows() {
  const [cursor, setCursor] = useState<string | null>(null);
  const [rows, setRows] = useState<WorkflowSummary[]>([]);
  const list = useLoad(async () => {
    const page = await api.workflows.list({ limit: PAGE, ...(cursor ? { cursor } : {}) });
    setRows((prev) => (cursor ? [...prev, ...page.data.filter((w) => !prev.some((p) => p.id === w.id))] : page.data));
    return page;
  }, [cursor]);
  return (
    <Shell title="Workflows">
      <NewWorkflow />
      <section aria-labelledby="list-h">
        <h2 id="list-h">Your workflows</h2>
        <ErrorText message={list.error} />
        {list.data && rows.length === 0 && <p>No workflows yet: describe your first video above.</p>}
        {rows.length > 0 && (
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways)">
            <table>
              <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Scenes</th><th scope="col">Cost</th><th scope="col">Updated</th></tr></thead>
              <tbody>
                {rows.map((w) => (
                  <tr key={w.id}>
                    <td><Link href={`/workflows/${w.id}`}><Stored text={w.name} /></Link></td>
                    <td><Badge status={statusOf(w)} /></td>
                    <td>{w.scenes_generated}/{w.scene_count}</td>
                    <td><Cost id={w.id} /></td>
                    <td>{when(w.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {list.data?.has_more && (
          <button type="button" class="secondary" disabled={list.loading} onClick={() => setCursor(list.data!.next_cursor)}>
            {list.loading ? 'Loading…' : 'Show more workflows'}
          </button>
        )}
      </section>
    </Shell>
  );
}

interface ShotDraft { prompt: string; duration: string; image: string }

function NewWorkflow() {
  const [shots, setShots] = useState<ShotDraft[]>([{ prompt: '', duration: '5', image: '' }]);
  const action = useAction();
  const set = (i: number, patch: Partial<ShotDraft>) => setShots(shots.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    void action.run('create', async () => {
      const wf = await api.workflows.create({
        name: String(form.get('name')),
        aspect_ratio: String(form.get('aspect')) as '16:9',
        shots: shots.map((s) => ({
          prompt: s.prompt,
          ...(s.duration ? { duration_s: Number(s.duration) } : {}),
          ...(s.image.trim() ? { image_asset_id: s.image.trim() } : {}),
        })),
      });
      navigate(`/workflows/${wf.id}`);
    });
  };
  return (
    <section class="card" aria-labelledby="new-h">
      <h2 id="new-h">New workflow from shots</h2>
      <form onSubmit={submit} class="stack">
        <div class="grid2">
          <label>Name<input name="name" required maxLength={200} /></label>
          <label>Aspect ratio
            <select name="aspect"><option>16:9</option><option>9:16</option><option>1:1</option></select>
          </label>
        </div>
        <ol class="shots">
          {shots.map((s, i) => (
            <li key={i} class="shot">
              <label>Shot {i + 1} prompt<textarea required rows={2} value={s.prompt} onInput={(e) => set(i, { prompt: e.currentTarget.value })} /></label>
              <div class="grid2">
                <label>Seconds<input type="number" min={1} max={60} value={s.duration} onInput={(e) => set(i, { duration: e.currentTarget.value })} /></label>
                <label>Image asset (optional)<input placeholder="ast_…" value={s.image} onInput={(e) => set(i, { image: e.currentTarget.value })} /></label>
              </div>
              {shots.length > 1 && <button type="button" class="secondary" onClick={() => setShots(shots.filter((_, j) => j !== i))}>Remove shot {i + 1}</button>}
            </li>
          ))}
        </ol>
        <div class="row">
          <button type="button" class="secondary" onClick={() => setShots([...shots, { prompt: '', duration: '5', image: '' }])}>Add a shot</button>
          <button type="submit" disabled={action.busy !== null}>Create workflow</button>
        </div>
        <ErrorText message={action.error} />
      </form>
    </section>
  );
}
