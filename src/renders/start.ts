/**
 * Starting a render (the synchronous half of `create_render`), in one transaction: the workflow
 * row is locked, its clips and audio layout are frozen into the render's plan, the scenes without
 * a clip are handed to generation (src/generation's `startGeneration`, which reserves their price
 * scene by scene and queues their jobs: the only money a render ever moves), and the render's own
 * job is queued. Either all of it exists or none: a 402 or 409 leaves nothing behind.
 */
import type { Knex } from 'knex';
import { loadAudioLayout } from '../audio/index.js';
import { nowIso, type Db } from '../db/knex.js';
import { clipSize, startGeneration, type GenerationSettings } from '../generation/index.js';
import { DomainError } from '../errors.js';
import { enqueue } from '../jobs/index.js';
import { newId } from '../util/ids.js';
import { registerBusyCheck } from '../workflows/busy.js';
import { findWorkflow } from '../workflows/store.js';
import { planFrom } from './plan.js';
import { activeRender, toRender, type RenderRow } from './store.js';
import { clusterNow } from '../db/cluster-time.js';

/** The job type that waits for a render's generation, then stitches (jobs.ts runs it). */
export const RENDER_JOB = 'render.run';

export interface RenderJobPayload {
  render_id: string;
}

export interface StartRenderInput {
  accountId: string;
  /** The request's API key, checked live where generation reserves the clips' credits. */
  keyId: string | null;
  workflowId: string;
  label?: string | null;
  /** The most this render may spend generating scenes without a clip (default 0: nothing). */
  maxCredits?: number;
}

// A workflow being rendered is not edited or deleted under the render (409 workflow_busy); the
// render froze what it needs, but its generation still writes the workflow's scenes.
registerBusyCheck(async (db, workflowId) => ((await activeRender(db, workflowId)) ? 'a render of it is still running' : null));

export function renderInProgress(workflowId: string, renderId?: string): DomainError {
  return new DomainError(
    'render_in_progress',
    `A render of workflow ${workflowId} is still queued or running; wait for it (get_render) or cancel it before starting another.`,
    renderId ? { render_id: renderId } : {},
  );
}

function isActiveIndexViolation(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string; message?: string };
  if (e.code === '23505' && e.constraint === 'renders_one_active') return true;
  return /UNIQUE constraint failed: renders\.workflow_id/.test(String(e.message ?? ''));
}

export async function startRender(db: Db, settings: GenerationSettings, input: StartRenderInput): Promise<RenderRow> {
  try {
    return await db.transaction((trx) => start(trx, settings, input));
  } catch (err) {
    // Two renders racing on PostgreSQL: the partial unique index turns the loser away.
    if (isActiveIndexViolation(err)) throw renderInProgress(input.workflowId);
    throw err;
  }
}

async function start(trx: Knex.Transaction, settings: GenerationSettings, input: StartRenderInput): Promise<RenderRow> {
  const { accountId, workflowId } = input;
  const workflow = await findWorkflow(trx, accountId, workflowId, { lock: true });
  const active = await activeRender(trx, workflowId);
  if (active) throw renderInProgress(workflowId, active.id);

  const layout = await loadAudioLayout(trx, accountId, workflowId);
  if (!layout.scenes.length) {
    throw new DomainError('conflict', `Workflow ${workflowId} has no scenes to render; add shots with update_workflow first.`, { scenes: 0 });
  }
  // A scene is reused when it has a clip; every other scene is generated first.
  const reusable = new Map(layout.scenes.filter((s) => s.status === 'generated' && s.clip_key).map((s) => [s.node_id, s.clip_key!]));
  const plan = planFrom(layout, (nodeId) => reusable.get(nodeId) ?? null);

  let generationId: string | null = null;
  if (reusable.size < layout.scenes.length) {
    // Exactly the scenes without a clip: generation's own price, reservations and jobs (402 /
    // 409 generation_in_progress come from there). A savepoint inside this transaction.
    const started = await startGeneration(trx, settings, { accountId, keyId: input.keyId, workflowId });
    // Over the caller's limit: thrown inside the transaction, so the reservations just made go too.
    const price = started.generation.credits_reserved;
    const allowed = input.maxCredits ?? 0;
    if (price > allowed) {
      throw new DomainError(
        'max_credits_exceeded',
        `Rendering workflow ${workflowId} needs ${layout.scenes.length - reusable.size} scene(s) generated first, for ${price} credits, but max_credits is ${allowed}; nothing was reserved. Generate the scenes first, or pass max_credits of at least ${price}.`,
        { needed: price, max_credits: allowed },
      );
    }
    generationId = started.generation.id;
    const made = new Set(started.scenes.map((s) => s.node_id));
    const unplanned = plan.clips.filter((c) => c.clip_key === null && !made.has(c.node_id));
    if (unplanned.length) throw new Error(`generation ${generationId} does not cover scenes ${unplanned.map((c) => c.node_id).join(', ')}`);
  }

  const now = nowIso();
  const size = clipSize(workflow.aspect_ratio, settings.clipShortSide);
  const id = newId('rnd');
  // After the scene jobs (queued at now + scene index ms), so one worker runs those first.
  const job = await enqueue<RenderJobPayload>(trx, {
    type: RENDER_JOB, payload: { render_id: id }, runAt: new Date(clusterNow() + layout.scenes.length + 1),
    maxAttempts: 3, dedupeKey: `${RENDER_JOB}:${id}:0`,
  });
  const row = {
    id, account_id: accountId, workflow_id: workflowId, workflow_version: workflow.version, status: 'queued', progress: 0,
    label: input.label ?? null, generation_id: generationId, job_id: job.id, plan: JSON.stringify(plan),
    width: size.width, height: size.height, scene_count: plan.clips.length, scenes_reused: reusable.size,
    output_key: null, duration_s: null, error: null, created_at: now, updated_at: now, started_at: null, finished_at: null,
  };
  await trx('renders').insert(row);
  return toRender(row);
}
