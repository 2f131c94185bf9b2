/**
 * The ways a render ends: succeeded, failed or canceled. Each is one transaction with a
 * conditional update (`WHERE status IN ('queued', 'running')`), so a render ends exactly once, and
 * the webhook event is written in that same transaction. A render that ends before its generation
 * did stops the generation's remaining scenes through generation's own failure path, which
 * releases their reservations: only clips already delivered stay charged.
 */
import type { Knex } from 'knex';
import { nowIso } from '../db/knex.js';
import { onSceneFailed, recordUsage, type SceneJobPayload } from '../generation/index.js';
import { cancelJob, getJob, lockJob, PermanentJobError, type Job } from '../jobs/index.js';
import { emitEvent } from '../webhooks/index.js';
import { ACTIVE_RENDER, getRenderById, moneyFor, moneyOf, type RenderError, type RenderRow } from './store.js';

const UNFINISHED_SCENE = ['queued', 'running'];

/**
 * Ends the generation scenes of a render that are not finished: their jobs are canceled and each
 * scene is failed through generation's failure hook (which releases its reservation, once).
 */
export async function stopGeneration(trx: Knex.Transaction, generationId: string, message: string): Promise<number> {
  const scenes = await trx('generation_scenes').where({ generation_id: generationId }).whereIn('status', UNFINISHED_SCENE).select('node_id', 'job_id');
  // Lock order as a worker failing a scene job takes it (the job row, then the generation row in
  // onSceneFailed): every scene job is canceled before the first scene is failed.
  const jobs = new Map<string, Job | null>();
  for (const scene of scenes) {
    if (!scene.job_id) continue;
    const jobId = String(scene.job_id);
    jobs.set(jobId, (await cancelJob(trx, jobId, message)) ?? (await getJob(trx, jobId)));
  }
  for (const scene of scenes) {
    const payload: SceneJobPayload = { generation_id: generationId, node_id: String(scene.node_id) };
    const job = scene.job_id ? jobs.get(String(scene.job_id)) ?? null : null;
    const subject = { ...(job ?? ({ id: '', attempts: 0 } as unknown as Job)), payload } as Job<SceneJobPayload>;
    await onSceneFailed(subject, { reason: 'permanent', message, error: new PermanentJobError(message) }, trx);
  }
  return scenes.length;
}

async function eventPayload(trx: Knex.Transaction, render: RenderRow): Promise<Record<string, unknown>> {
  const money = moneyFor(await moneyOf(trx, [render]), render);
  return {
    render_id: render.id, workflow_id: render.workflow_id, workflow_version: render.workflow_version, status: render.status,
    duration_s: render.duration_s, credits_charged: money.credits_charged, scenes_reused: render.scenes_reused,
    scenes_generated: money.scenes_generated, error: render.error,
  };
}

export async function finishSucceeded(
  db: Knex, renderId: string, result: { outputKey: string; durationS: number },
): Promise<RenderRow | null> {
  return db.transaction(async (trx) => {
    const now = nowIso();
    const n = await trx('renders')
      .where({ id: renderId, status: 'running' })
      .update({ status: 'succeeded', progress: 1, output_key: result.outputKey, duration_s: result.durationS, error: null, finished_at: now, updated_at: now });
    if (Number(n) !== 1) return null;
    const render = (await getRenderById(trx, renderId))!;
    await recordUsage(trx, render.account_id, { renders: 1 });
    await emitEvent(trx, { accountId: render.account_id, type: 'render.succeeded', payload: await eventPayload(trx, render) });
    return render;
  });
}

/** In the caller's transaction (the job queue's failure hook passes its own). */
export async function failRender(trx: Knex.Transaction, renderId: string, error: RenderError): Promise<RenderRow | null> {
  const now = nowIso();
  const n = await trx('renders')
    .where({ id: renderId })
    .whereIn('status', ACTIVE_RENDER)
    .update({ status: 'failed', error: JSON.stringify(error), finished_at: now, updated_at: now });
  if (Number(n) !== 1) return null;
  const render = (await getRenderById(trx, renderId))!;
  if (render.generation_id) await stopGeneration(trx, render.generation_id, `The render ${renderId} failed, so this scene was not generated: ${error.message}`);
  await emitEvent(trx, { accountId: render.account_id, type: 'render.failed', payload: await eventPayload(trx, render) });
  return render;
}

/**
 * Cancels a queued or running render; null when it had already ended. Locks in the queue's order,
 * the render's job row before the render row, as a worker failing that job does (failure hook ->
 * failRender): the opposite order deadlocked against it on PostgreSQL. The render is only updated
 * while its job is still the one locked; a continuation queued in between means another pass.
 */
export async function cancelRender(trx: Knex.Transaction, render: RenderRow): Promise<RenderRow | null> {
  for (let pass = 0; pass < 5; pass++) {
    const seen = await getRenderById(trx, render.id);
    if (!seen || !ACTIVE_RENDER.includes(seen.status)) return null;
    if (seen.job_id) await lockJob(trx, seen.job_id);
    const now = nowIso();
    const n = await trx('renders')
      .where({ id: render.id, job_id: seen.job_id ?? null })
      .whereIn('status', ACTIVE_RENDER)
      .update({ status: 'canceled', error: null, finished_at: now, updated_at: now });
    if (Number(n) !== 1) continue; // ended, or its job moved to a continuation: look again
    // The render's job stops at its next heartbeat; whatever it would still write is discarded.
    // Continuations queued after this are canceled by jobs.ts.
    if (seen.job_id) await cancelJob(trx, seen.job_id, 'render canceled');
    if (seen.generation_id) await stopGeneration(trx, seen.generation_id, `The render ${render.id} was canceled before this scene was generated; it was not charged.`);
    return getRenderById(trx, render.id);
  }
  throw new Error(`render ${render.id} kept changing jobs while being canceled`);
}
