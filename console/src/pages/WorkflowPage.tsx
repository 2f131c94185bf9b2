import { useState } from 'preact/hooks';
import { NotFoundError, type CostEstimate, type GenerationStatus, type QualityReport, type Render } from '@lavendly/sdk';
import { api } from '../api.js';
import { Badge, ErrorText } from '../components/Alert.js';
import { Shell } from '../components/Shell.js';
import { credits, reviewedBy, seconds, when } from '../format.js';
import { useAction, useLoad, usePolling } from '../hooks.js';
import { usePagedList } from '../paged.js';
import { ShowMore } from '../components/ShowMore.js';
import { Link } from '../router.js';
import { Graph } from './Graph.js';
import { PublishDialog } from './PublishDialog.js';
import { SceneCard } from './SceneCard.js';
import { WorkflowManage } from './WorkflowManage.js';
import { Stored, visible } from '../text.js';

const ACTIVE = new Set(['queued', 'running']);

export function WorkflowPage(props: { id: string }) {
  const { id } = props;
  // Set once any call answers not_found: the workflow was deleted while open (or never was this
  // account's). The page then stops polling, which would otherwise ask every 1.5 s for ever.
  const [gone, setGone] = useState(false);
  const watch = <T,>(call: PromiseLike<T>): Promise<T> => Promise.resolve(call).catch((err: unknown) => {
    if (err instanceof NotFoundError) setGone(true);
    throw err;
  });
  const wf = useLoad(() => watch(api.workflows.get({ id })), [id]);
  const [status, setStatus] = useState<GenerationStatus | null>(null);
  const renders = usePagedList((cursor) => watch(api.renders.list({ id, limit: 20, ...(cursor ? { cursor } : {}) })), [id]);
  const [estimate, setEstimate] = useState<CostEstimate | null>(null);
  const [finalReport, setFinalReport] = useState<QualityReport | null>(null);
  const [publishing, setPublishing] = useState(false);
  const action = useAction();
  const act = (name: string, fn: () => Promise<unknown>) => action.run(name, () => watch(fn()));

  // Live progress: poll the generation while it runs, and fetch the workflow again whenever a
  // scene changes state, so clips and frames appear as they land.
  const pollStatus = async () => {
    const next = await watch(api.generate.getStatus({ id }));
    const changed = !status || next.scenes.some((s, i) => s.status !== status.scenes[i]?.status || s.clip_url !== status.scenes[i]?.clip_url);
    const finished = status !== null && ACTIVE.has(status.status) && !ACTIVE.has(next.status);
    setStatus(next);
    if (changed || !ACTIVE.has(next.status)) await wf.reload();
    // A shown estimate goes stale once scenes are generated: price what is left again.
    if (finished && estimate) setEstimate(await api.generate.estimateCost({ id }));
  };
  const generating = status ? ACTIVE.has(status.status) : false;
  usePolling(pollStatus, 1500, !gone && (generating || status === null));
  const rendering = (renders.rows ?? []).some((r) => ACTIVE.has(r.status));
  // The list shows its own error; the poll needs it too, to wait as long as a 429 or 503 asks.
  usePolling(async () => { const failed = await renders.reload(); if (failed) throw failed; }, 1500, !gone && rendering);

  const w = wf.data;
  const costs = new Map((estimate?.per_scene ?? []).map((c) => [c.node_id, c]));
  const started = () => { setStatus((s) => (s ? { ...s, status: 'queued' } : s)); void pollStatus(); };
  return (
    <Shell title={gone ? 'Workflow not found' : w ? visible(w.name) : 'Workflow'}>
      {gone ? (
        <>
          <p class="error" role="alert">There is no workflow {id} in this account: it was deleted, or the link is wrong (not_found).</p>
          <p><Link href="/workflows">Back to your workflows</Link></p>
        </>
      ) : <ErrorText message={wf.error} />}
      {w && !gone && (
        <>
          <p class="meta">{w.aspect_ratio} · {w.scenes.length} scenes · version {w.version}{w.description && <> · <Stored text={w.description} /></>}</p>
          <WorkflowManage key={w.id} workflow={w} onChanged={wf.reload} />
          <section class="card" aria-labelledby="actions-h">
            <h2 id="actions-h">Actions</h2>
            <div class="row wrap">
              <button type="button" class="secondary" disabled={action.busy !== null}
                onClick={() => act('estimate', async () => setEstimate(await api.generate.estimateCost({ id })))}>Estimate cost</button>
              <button type="button" disabled={action.busy !== null || generating}
                onClick={() => act('generate', async () => { await api.generate.start({ id }); started(); })}>Generate all scenes</button>
              <button type="button" disabled={action.busy !== null}
                onClick={() => act('render', async () => { await api.renders.create({ id }); await renders.reload(); })}>Render video</button>
              <button type="button" class="secondary" disabled={action.busy !== null || !(renders.rows ?? []).some((r) => r.status === 'succeeded')}
                onClick={() => act('qc', async () => setFinalReport(await api.review.qualityCheck({ id })))}>Check final video</button>
              <button type="button" disabled={!(renders.rows ?? []).some((r) => r.status === 'succeeded')} onClick={() => setPublishing(true)}>Publish or schedule…</button>
            </div>
            <ErrorText message={action.error} />
            {estimate && (
              <p class="estimate" role="status" data-testid="estimate">
                Estimate: {credits(estimate.total)} in all, {credits(estimate.remaining)} still to generate; you have {credits(estimate.available_credits)} available
                {estimate.sufficient ? '.' : ': not enough.'}
              </p>
            )}
            {finalReport && <p role="status">Final video quality {finalReport.pass ? 'passed' : 'failed'} (score {finalReport.score}; {reviewedBy(finalReport.vision_review)}){finalReport.failures.map((f) => <span key={f.check}> · {f.check}: <Stored text={f.message} /></span>)}</p>}
            <div class="progress-line" aria-live="polite">
              {status && status.status !== 'idle' && (
                <>
                  <label for="gen-progress">Generation <Badge status={status.status} /> {status.phase}</label>
                  <progress id="gen-progress" max={1} value={status.progress} data-testid="generation-progress" />
                </>
              )}
            </div>
          </section>

          <section aria-labelledby="scenes-h">
            <h2 id="scenes-h">Scenes</h2>
            <ol class="scenes">
              {w.scenes.map((s) => <SceneCard key={s.node_id} workflowId={id} scene={s} cost={costs.get(s.node_id)} onStarted={started} />)}
            </ol>
          </section>

          <section aria-labelledby="graph-h">
            <h2 id="graph-h">Graph</h2>
            <Graph nodes={w.nodes} edges={w.edges} scenes={w.scenes} />
          </section>

          <section aria-labelledby="renders-h">
            <h2 id="renders-h">Renders</h2>
            <ErrorText message={renders.error} />
            {renders.rows?.length === 0 && <p>No render yet. Rendering is free once the scenes are generated.</p>}
            <ul class="renders">{(renders.rows ?? []).map((r) => <RenderItem key={r.id} r={r} />)}</ul>
            <ShowMore list={renders} label="Show more renders" />
          </section>

          {w.publications && w.publications.length > 0 && (
            <section aria-labelledby="pubs-h">
              <h2 id="pubs-h">Publications</h2>
              <ul class="plain">
                {w.publications.map((p) => (
                  <li key={p.id} data-publication={p.id}>
                    <Badge status={p.status} /> {p.platform}{p.scheduled_for ? ` · for ${when(p.scheduled_for)}` : ''}
                    {p.published_url && <> · <PostLink url={p.published_url} /></>}
                    {p.error && <span class="error"> · <Stored text={p.error.message} /></span>}
                    {p.status === 'scheduled' && (
                      <button type="button" class="link" disabled={action.busy !== null} onClick={() => act('cancel', async () => { await api.publish.cancelPublication({ id: p.id }); await wf.reload(); })}>Cancel</button>
                    )}
                  </li>
                ))}
              </ul>
            </section>
          )}
          {publishing && (
            <PublishDialog workflowId={id} defaultTitle={w.name} onClose={() => setPublishing(false)}
              onDone={() => { setPublishing(false); void wf.reload(); }} />
          )}
        </>
      )}
    </Shell>
  );
}

function RenderItem(props: { r: Render }) {
  const { r } = props;
  return (
    <li class="card render" data-render={r.id} data-status={r.status}>
      <p><Badge status={r.status} /> <Stored text={r.label ?? r.id} /> · version {r.workflow_version} · {when(r.created_at)}{r.duration_s ? ` · ${seconds(r.duration_s)}` : ''}</p>
      {ACTIVE.has(r.status) && <progress max={1} value={r.progress} aria-label={`Render ${r.id} progress`} />}
      {r.url && <video src={r.url} controls preload="metadata" playsInline aria-label={`Render ${visible(r.label ?? r.id)}`} />}
      {ACTIVE.has(r.status) && r.waiting && <p class="waiting" role="status">{r.waiting.message} Next try {when(r.waiting.next_attempt_at)}.</p>}
      {r.error && <p class="error"><Stored text={r.error.message} /></p>}
    </li>
  );
}

/**
 * A post's address as a link only when it is a web page (http or https): the address comes from a
 * platform's answer or the database, and a `javascript:` or `data:` link there would run on, or
 * spoof, this origin when clicked. Anything else (a local folder channel's file: URL) is text.
 */
function PostLink(props: { url: string }) {
  let web = false;
  try {
    web = ['http:', 'https:'].includes(new URL(props.url).protocol);
  } catch { /* not a URL at all: shown as text */ }
  return web ? <a href={props.url} rel="noopener noreferrer">the post</a> : <span>the post: <Stored text={props.url} /></span>;
}
