/**
 * The worker side of a render: one `render.run` job waits for the render's generation (if it
 * needed one), then stitches the planned clips and mixes the planned audio into one H.264 + AAC
 * MP4 under storage.
 *
 * Waiting never holds a worker slot: while the generation runs, the job records progress, queues
 * its own continuation a moment later and returns, so the scene jobs get the worker. Stitching is
 * free, and the money of generated scenes is generation's, so a render job that crashes and runs
 * again only stitches again: nothing can be charged twice.
 */
import type { Knex } from 'knex';
import { nowIso } from '../db/knex.js';
import { loadClipProbes } from '../generation/clip-probes.js';
import { generationScenes, getGeneration } from '../generation/index.js';
import { cancelJob, enqueue, type FailureHook, type HandlerEntry, type Job, type JobContext } from '../jobs/index.js';
import { MediaError } from '../media/index.js';
import { StorageUnavailableError, type Storage } from '../storage/index.js';
import { isDiskFull } from '../util/disk-full.js';
import { withoutLocalPaths } from '../util/local-paths.js';
import { failRender, finishSucceeded } from './finish.js';
import { renderStored } from './stored.js';
import { RENDER_JOB, type RenderJobPayload } from './start.js';
import { ACTIVE_RENDER, getRenderById, type RenderRow } from './store.js';
import { queueOrphanRemoval } from '../workflows/file-cleanup.js';
import { clusterNow } from '../db/cluster-time.js';

export interface RenderJobDeps {
  storage: Storage;
  /** How soon a render waiting for its generation looks again (default 1000 ms). */
  pollMs?: number;
  /** x264 preset when clips must be re-encoded (default veryfast). */
  preset?: string;
}

/** Share of the progress bar for generating scenes, when a render has some to generate. */
const GENERATION_SHARE = 0.8;

async function setProgress(db: Knex, renderId: string, progress: number): Promise<void> {
  await db('renders')
    .where({ id: renderId, status: 'running' })
    .update({ progress: Math.max(0, Math.min(0.99, Math.round(progress * 1000) / 1000)), updated_at: nowIso() });
}

function sceneName(render: RenderRow, nodeId: string): string {
  const clip = render.plan.clips.find((c) => c.node_id === nodeId);
  return clip ? `scene ${clip.index + 1}` : `scene ${nodeId}`;
}

/** While the generation runs: progress, then a continuation job. True when it had to wait. */
async function waitForGeneration(deps: RenderJobDeps, render: RenderRow, job: Job<RenderJobPayload>, ctx: JobContext): Promise<boolean> {
  if (!render.generation_id) return false;
  const generation = await getGeneration(ctx.db, render.generation_id);
  if (!generation || (generation.status !== 'queued' && generation.status !== 'running')) return false;
  const scenes = await generationScenes(ctx.db, render.generation_id);
  const done = scenes.filter((s) => s.status === 'generated' || s.status === 'failed').length;
  await setProgress(ctx.db, render.id, (GENERATION_SHARE * done) / Math.max(1, scenes.length));
  await ctx.db.transaction(async (trx) => {
    const next = await enqueue<RenderJobPayload>(trx, {
      type: RENDER_JOB, payload: { render_id: render.id }, runAt: new Date(clusterNow() + (deps.pollMs ?? 1000)),
      maxAttempts: job.max_attempts, dedupeKey: `${RENDER_JOB}:${render.id}:after:${job.id}`,
    });
    const n = await trx('renders').where({ id: render.id }).whereIn('status', ACTIVE_RENDER).update({ job_id: next.id, updated_at: nowIso() });
    // Canceled or failed meanwhile (on PostgreSQL this update waited for that transaction): the
    // continuation would only skip, and no runnable job of an ended render is left behind.
    if (Number(n) !== 1) await cancelJob(trx, next.id, 'render no longer active');
  });
  return true;
}

/** The clip of every planned scene, or why the render cannot have them. */
async function clipKeys(db: Knex, storage: Storage, render: RenderRow): Promise<{ keys: string[] } | { error: { code: string; message: string } }> {
  const generated = render.generation_id ? await generationScenes(db, render.generation_id) : [];
  const keys: string[] = [];
  const failed: string[] = [];
  for (const clip of render.plan.clips) {
    if (clip.clip_key) {
      keys.push(clip.clip_key);
      continue;
    }
    const scene = generated.find((s) => s.node_id === clip.node_id);
    if (scene?.status === 'generated' && scene.clip_key) keys.push(scene.clip_key);
    else failed.push(`${sceneName(render, clip.node_id)} (${scene?.error?.message ?? 'not generated'})`);
  }
  if (failed.length) {
    return {
      error: {
        code: 'scene_failed',
        message: `The render stopped because ${failed.length === 1 ? 'a scene' : `${failed.length} scenes`} could not be generated: ${failed.join('; ')}. Only the clips delivered were charged.`.slice(0, 2000),
      },
    };
  }
  for (const [i, key] of keys.entries()) {
    if (!(await storage.stat(key))) {
      return { error: { code: 'clip_missing', message: `The clip of ${sceneName(render, render.plan.clips[i]!.node_id)} is missing from storage; generate that scene again.` } };
    }
  }
  for (const t of render.plan.tracks) {
    if (!(await storage.stat(t.file_key))) {
      return { error: { code: 'track_missing', message: `The audio asset ${t.asset_id} of track ${t.id} is missing from storage; detach or replace it.` } };
    }
  }
  return { keys };
}

async function runRender(deps: RenderJobDeps, job: Job<RenderJobPayload>, ctx: JobContext): Promise<unknown> {
  const renderId = job.payload.render_id;
  const found = await getRenderById(ctx.db, renderId);
  if (!found || !ACTIVE_RENDER.includes(found.status)) return { skipped: found?.status ?? 'missing' };
  const now = nowIso();
  await ctx.db('renders').where({ id: renderId, status: 'queued' }).update({ status: 'running', started_at: now, updated_at: now });
  const render = (await getRenderById(ctx.db, renderId))!;
  if (render.status !== 'running') return { skipped: render.status };

  if (await waitForGeneration(deps, render, job, ctx)) return { waiting: true };

  const clips = await clipKeys(ctx.db, deps.storage, render);
  if ('error' in clips) {
    await ctx.db.transaction((trx) => failRender(trx, renderId, clips.error));
    return { failed: clips.error.code };
  }

  const base = render.generation_id ? GENERATION_SHARE : 0;
  let lastWrite = -Infinity; // performance.now(): a clock stepping back must not hold progress off
  const outputKey = deps.storage.keyFor(render.account_id, `renders/${render.id}.mp4`);
  const result = await renderStored(deps.storage, {
    plan: render.plan,
    clipKeys: clips.keys,
    clipProbes: await loadClipProbes(ctx.db, clips.keys),
    outputKey,
    width: render.width,
    height: render.height,
    preset: deps.preset,
    signal: ctx.signal,
    onProgress: (fraction) => {
      if (performance.now() - lastWrite < 500) return;
      lastWrite = performance.now();
      setProgress(ctx.db, renderId, base + (1 - base) * fraction).catch(() => {});
    },
  });
  const durationS = Math.round((result.probe.durationS || result.durationS) * 1000) / 1000;
  const done = await finishSucceeded(ctx.db, renderId, { outputKey, durationS });
  // Canceled while stitching: the file belongs to no render.
  if (!done) await deps.storage.remove(outputKey).catch(() => {});
  return { succeeded: Boolean(done), strategy: result.strategy, duration_s: durationS };
}

function failureMessage(error: unknown, fallback: string): string {
  if (error instanceof MediaError) return withoutLocalPaths(`Stitching the video failed: ${error.message}`).slice(0, 1000);
  if (error instanceof Error) return withoutLocalPaths(`The render failed: ${error.message}`).slice(0, 1000);
  return withoutLocalPaths(fallback).slice(0, 1000);
}

/**
 * The failure hook: in the transaction that marks the job failed (a permanent error, retries used
 * up, or a worker that died on its last attempt), the render is failed and whatever its
 * generation still holds is released.
 */
export const onRenderFailed: FailureHook<RenderJobPayload> = async (job, failure, trx) => {
  const renderId = job.payload?.render_id;
  if (!renderId) return;
  // The store failing (a missing bucket included) is ours and passes: not a clip to generate again.
  const full = failure.reason !== 'lease_expired' && isDiskFull(failure.error);
  const code = failure.reason === 'lease_expired' ? 'worker_lost' : failure.error instanceof StorageUnavailableError || full ? 'storage_unavailable' : 'render_failed';
  const message = failure.reason === 'lease_expired'
    ? `The worker rendering this video stopped responding (${job.attempts} attempt${job.attempts === 1 ? '' : 's'}).`
    // A full disk is ours and passes; the error itself (a path) is in the job's log line.
    : full ? 'The render could not be written: the server is out of disk space. Render again later.'
    : failureMessage(failure.error, failure.message);
  await failRender(trx, renderId, { code, message });
};

/**
 * A failed render has no output, yet an attempt may have stored one: its worker died before
 * recording the success, or the store took the upload and its answer was lost. Nothing else would
 * ever remove that file. Handed to the removal job in the failure's transaction (a slow store must
 * not hold it), which waits out a store that is away.
 */
async function removeFailedOutput(storage: Storage, trx: Knex.Transaction, renderId: string | undefined): Promise<void> {
  if (!renderId) return;
  const render = await trx('renders').where({ id: renderId }).first('account_id', 'workflow_id', 'status');
  if (render?.status !== 'failed') return;
  await queueOrphanRemoval(trx, render.workflow_id, [storage.keyFor(render.account_id, `renders/${renderId}.mp4`)], `render:${renderId}`);
}

/** The job handlers renders contribute to a worker. */
export function renderJobHandlers(deps: RenderJobDeps): Record<string, HandlerEntry> {
  return {
    [RENDER_JOB]: {
      run: (job, ctx) => runRender(deps, job as Job<RenderJobPayload>, ctx),
      onFailed: async (job, failure, trx) => {
        await onRenderFailed(job, failure, trx);
        await removeFailedOutput(deps.storage, trx, (job as Job<RenderJobPayload>).payload?.render_id);
      },
    },
  };
}
