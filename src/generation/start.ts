/**
 * Pricing and starting a generation (the synchronous half of `estimate_cost` / `generate_scene`).
 *
 * Starting is one transaction: the workflow row is locked, the price of every scene in scope is
 * reserved (one reservation per scene, so each scene is charged or released on its own, exactly
 * once), and the generation row, its scene rows, the scene status changes and one job per scene
 * are written together. Either all of it exists or none: a 402 or 409 leaves nothing behind.
 */
import type { Knex } from 'knex';
import { lockLiveKey } from '../accounts/accounts.js';
import { nowIso, type Db } from '../db/knex.js';
import { DomainError, InsufficientCreditsError, NotFoundError } from '../errors.js';
import { enqueue } from '../jobs/index.js';
import { getBalance, reserve } from '../ledger/index.js';
import { newId } from '../util/ids.js';
import { emitBalanceLowIfCrossed } from '../webhooks/index.js';
import { busyReason } from '../workflows/busy.js';
import type { SceneRow } from '../workflows/compile.js';
import { findWorkflow, listScenes } from '../workflows/store.js';
import { scenePrice } from './prices.js';
import { clipSize, type GenerationSettings } from './providers.js';
import {
  activeGeneration, generationScenes, getGeneration, type GenerationRow, type GenerationSceneRow, toGeneration, toGenerationScene,
} from './store.js';
import { clusterNow } from '../db/cluster-time.js';

/** The job type that generates one scene (src/generation/jobs.ts runs it). */
export const SCENE_JOB = 'generation.scene';

export interface SceneJobPayload {
  generation_id: string;
  node_id: string;
}

interface SceneCost {
  node_id: string;
  credits: number;
  generated: boolean;
}

export interface CostEstimate {
  workflow_id: string;
  node_id: string | null;
  total: number;
  remaining: number;
  per_scene: SceneCost[];
  available_credits: number;
  sufficient: boolean;
}

function priceOf(settings: GenerationSettings, scene: Pick<SceneRow, 'duration_s' | 'image_asset_id'>, model = settings.model): number {
  return scenePrice(settings.prices, { duration_s: scene.duration_s, drawsImage: !scene.image_asset_id, model });
}

/** A video model a workflow may use: one of the wired ones (400 `model_not_available` otherwise). */
export function checkVideoModel(settings: GenerationSettings, model: string): string {
  if (!settings.videoModels.includes(model)) {
    throw new DomainError('model_not_available', `The video model '${model}' is not available here; choose one of ${settings.videoModels.join(', ')} (get_status lists them).`, {
      model, available_models: settings.videoModels,
    });
  }
  return model;
}

/** The model a workflow's scenes are priced and generated with. */
function workflowModel(settings: GenerationSettings, workflow: { video_model: string | null }): string {
  return workflow.video_model === null ? settings.model : checkVideoModel(settings, workflow.video_model);
}

/** A scene named by its video node id (or, forgivingly, its image node id); 404 otherwise. */
function findScene(scenes: SceneRow[], workflowId: string, nodeId: string): SceneRow {
  const scene = scenes.find((s) => s.node_id === nodeId) ?? scenes.find((s) => s.image_node_id === nodeId);
  if (!scene) {
    throw new DomainError('not_found', `Workflow ${workflowId} has no scene with node id '${nodeId}'.`, { resource: 'scene', id: nodeId });
  }
  return scene;
}

export async function estimateCost(
  db: Db, settings: GenerationSettings, accountId: string, workflowId: string, nodeId?: string,
): Promise<CostEstimate> {
  const workflow = await findWorkflow(db, accountId, workflowId);
  const model = workflowModel(settings, workflow);
  const scenes = await listScenes(db, workflowId);
  const inScope = nodeId ? [findScene(scenes, workflowId, nodeId)] : scenes;
  const perScene = inScope.map((s) => ({ node_id: s.node_id, credits: priceOf(settings, s, model), generated: s.status === 'generated' }));
  const total = perScene.reduce((sum, s) => sum + s.credits, 0);
  // A named scene is priced even if generated (a re-roll is charged again).
  const remaining = nodeId ? total : perScene.filter((s) => !s.generated).reduce((sum, s) => sum + s.credits, 0);
  const { available } = await getBalance(db, accountId);
  return {
    workflow_id: workflowId, node_id: nodeId ? inScope[0]!.node_id : null, total, remaining, per_scene: perScene,
    available_credits: available, sufficient: available >= remaining,
  };
}

export interface StartGenerationInput {
  accountId: string;
  /** The API key the request came with: it must still be live when the credits are reserved. */
  keyId: string | null;
  workflowId: string;
  nodeId?: string;
  rerollHint?: string;
}

export interface StartedGeneration {
  generation: GenerationRow;
  scenes: GenerationSceneRow[];
}

function inProgress(workflowId: string, generationId?: string): DomainError {
  return new DomainError(
    'generation_in_progress',
    `A generation of workflow ${workflowId} is still running; follow it with get_generation_status and try again when it has finished.`,
    generationId ? { generation_id: generationId } : {},
  );
}

function isActiveIndexViolation(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string; message?: string };
  if (e.code === '23505' && e.constraint === 'generations_one_active') return true;
  return /UNIQUE constraint failed: generations\.workflow_id/.test(String(e.message ?? ''));
}

function withHint(text: string, hint: string | undefined): string {
  return hint ? `${text.trimEnd()} ${hint.trim()}` : text;
}

/** One-line description of a scene's subject for reasons and phases: its prompt, shortened. */
export function sceneLabel(prompt: string, max = 60): string {
  let s = prompt.replace(/\s+/g, ' ').trim().replace(/[.!?;:,\s]+$/, '');
  if (s.length > max) s = `${s.slice(0, max).replace(/\s+\S*$/, '')}...`;
  // Mid-sentence: 'The map glows' -> 'the map glows' (acronyms such as 'NASA' keep their case).
  return /^[A-Z][a-z]*\b/.test(s) && !/^[A-Z]{2}/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}

export async function startGeneration(db: Db, settings: GenerationSettings, input: StartGenerationInput): Promise<StartedGeneration> {
  try {
    return await db.transaction((trx) => start(trx, settings, input));
  } catch (err) {
    // Two first generations racing on PostgreSQL: the partial unique index turns the loser away.
    if (isActiveIndexViolation(err)) throw inProgress(input.workflowId);
    throw err;
  }
}

/**
 * A generation as startGeneration answered it: for a keyed retry whose first run started it and
 * died before answering (src/http/keyed-write.ts). Its scenes are the ones it covers.
 */
export async function startedGeneration(db: Db, accountId: string, generationId: string): Promise<StartedGeneration> {
  const generation = await getGeneration(db, generationId);
  if (!generation || generation.account_id !== accountId) throw new NotFoundError('generation', generationId);
  return { generation, scenes: await generationScenes(db, generationId) };
}

async function start(trx: Knex.Transaction, settings: GenerationSettings, input: StartGenerationInput): Promise<StartedGeneration> {
  const { accountId, workflowId } = input;
  await lockLiveKey(trx, input.keyId);
  const workflow = await findWorkflow(trx, accountId, workflowId, { lock: true });
  const active = await activeGeneration(trx, workflowId);
  if (active) throw inProgress(workflowId, active.id);
  const busy = await busyReason(trx, workflowId);
  if (busy) throw new DomainError('workflow_busy', `Workflow ${workflowId} cannot be generated now: ${busy}.`, { id: workflowId });

  const all = await listScenes(trx, workflowId);
  const targets = input.nodeId ? [findScene(all, workflowId, input.nodeId)] : all.filter((s) => s.status !== 'generated');
  if (targets.length === 0) {
    throw new DomainError(
      'nothing_to_generate',
      all.length === 0
        ? `Workflow ${workflowId} has no scenes; add shots with update_workflow first.`
        : `Every scene of workflow ${workflowId} already has a clip. To re-roll one, pass its node_id.`,
      { scenes: all.length },
    );
  }

  const model = workflowModel(settings, workflow);
  const priced = targets.map((scene) => ({ scene, credits: priceOf(settings, scene, model) }));
  const total = priced.reduce((sum, p) => sum + p.credits, 0);
  const before = await getBalance(trx, accountId);
  if (before.available < total) throw new InsufficientCreditsError(total, before.available);

  const now = nowIso();
  const generationId = newId('gen');
  const generation = {
    id: generationId, account_id: accountId, workflow_id: workflowId, status: 'queued', scene_count: targets.length,
    credits_reserved: total, credits_charged: 0, reroll_hint: input.rerollHint ?? null,
    created_at: now, updated_at: now, started_at: null, finished_at: null,
  };
  await trx('generations').insert(generation);

  const size = clipSize(workflow.aspect_ratio, settings.clipShortSide);
  const rows: Record<string, unknown>[] = [];
  const startMs = clusterNow();
  for (const [i, { scene, credits }] of priced.entries()) {
    let reservation;
    try {
      reservation = await reserve(trx, accountId, credits, {
        reason: `Generation ${generationId}: scene ${scene.position + 1} (${sceneLabel(scene.prompt, 40)})`,
        expiresInS: settings.holdS,
        metadata: { generation_id: generationId, node_id: scene.node_id, workflow_id: workflowId },
      });
    } catch (err) {
      // Someone else spent credits since the check above (PostgreSQL): report the whole price.
      if (err instanceof InsufficientCreditsError) throw new InsufficientCreditsError(total, (await getBalance(trx, accountId)).available);
      throw err;
    }
    const job = await enqueue<SceneJobPayload>(trx, {
      type: SCENE_JOB,
      payload: { generation_id: generationId, node_id: scene.node_id },
      // Scenes start in playback order (same-instant jobs would be claimed in id order).
      runAt: new Date(startMs + i),
      maxAttempts: settings.maxAttempts,
      dedupeKey: `${SCENE_JOB}:${generationId}:${scene.node_id}`,
    });
    const row = {
      generation_id: generationId, node_id: scene.node_id, workflow_id: workflowId, account_id: accountId,
      position: scene.position, prompt: withHint(scene.prompt, input.rerollHint),
      image_prompt: scene.image_asset_id ? null : withHint(scene.image_prompt ?? scene.prompt, input.rerollHint),
      image_asset_id: scene.image_asset_id, duration_s: scene.duration_s, width: size.width, height: size.height,
      model, credits, reservation_id: reservation.id, job_id: job.id, status: 'queued', step: null,
      image_key: null, clip_key: null, clip_duration_s: null, credits_charged: 0, error: null,
      created_at: now, updated_at: now, started_at: null, finished_at: null,
    };
    await trx('generation_scenes').insert(row);
    rows.push(row);
    const moved = await trx('workflow_scenes')
      .where({ workflow_id: workflowId, node_id: scene.node_id, status: scene.status })
      .update({ status: 'generating', error: null, updated_at: now });
    if (Number(moved) !== 1) throw inProgress(workflowId);
  }

  await emitBalanceLowIfCrossed(trx, { accountId, availableBefore: before.available, availableAfter: before.available - total, threshold: settings.lowBalanceThreshold });
  return { generation: toGeneration(generation), scenes: rows.map(toGenerationScene) };
}
