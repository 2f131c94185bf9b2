/**
 * The worker side of generation: one `generation.scene` job per scene draws the opening still,
 * animates it into a clip with native audio, and lands it.
 *
 * Money: the scene's reservation is committed in the transaction that marks the scene generated
 * (`WHERE status = 'running'`), and released in the transaction that marks it failed (the job
 * queue's failure hook, which also runs when a dead worker's job has used up its attempts). Both
 * moves are guarded twice in SQL (the scene row's status and the reservation's `status = 'open'`),
 * so whatever crashes or races happen a scene is charged at most once, and every reservation ends
 * committed or released.
 *
 * A job runs at least once and may run again after its worker died: each step is idempotent (a
 * finished scene is skipped, a still drawn by an earlier run is reused, files are written under
 * names of this generation and scene, atomically).
 */
import type { Knex } from 'knex';
import type { FailureHook, HandlerEntry, Job, JobContext, JobFailure } from '../jobs/index.js';
import { PermanentJobError } from '../jobs/index.js';
import { commit, getReservation, release, ReservationNotOpenError } from '../ledger/index.js';
import { MediaError, probeClip, ProviderError, type MediaProbe, type MediaProviders, type TaskMemory } from '../media/index.js';
import { saveClipProbe } from './clip-probes.js';
import { StorageUnavailableError, type Storage } from '../storage/index.js';
import { isDiskFull } from '../util/disk-full.js';
import { withoutLocalPaths } from '../util/local-paths.js';
import { emitEvent } from '../webhooks/index.js';
import { SCENE_JOB, type SceneJobPayload } from './start.js';
import {
  getGeneration, getGenerationScene, generationScenes, nowIso, recordUsage, UNFINISHED,
  type GenerationSceneRow, type ProviderTask, type SceneError,
} from './store.js';
import { queueOrphanRemoval } from '../workflows/file-cleanup.js';

export interface GenerationJobDeps {
  providers: MediaProviders;
  storage: Storage;
  /** Tolerance when checking a delivered clip's duration, seconds (default one frame at 25 fps + container slack). */
  durationToleranceS?: number;
}

/**
 * A failure no run of this job can fix, with the code and message the scene will show, and
 * whether a new generation may (false for a content refusal: the prompt must change).
 */
class SceneFailure extends PermanentJobError {
  constructor(readonly code: string, message: string, readonly retryable: boolean, cause?: unknown) {
    super(message, { cause });
    this.name = 'SceneFailure';
  }
}

function fileKey(scene: GenerationSceneRow, ext: string): string {
  return `${scene.account_id}/${scene.workflow_id}/${scene.generation_id}-${scene.node_id}.${ext}`;
}

async function exists(storage: Storage, key: string | null): Promise<boolean> {
  return key !== null && (await storage.stat(key)) !== null;
}

/** Provider errors: transient ones are retried by the queue, permanent ones fail the scene now. */
function classify(err: unknown, what: string): unknown {
  if (err instanceof ProviderError) {
    if (err.transient) return err;
    // Hosted models' errors already name the model and what it did ("runway:gen4_turbo refused ...").
    const message = err.message.startsWith(err.provider) ? `The ${what} model ${err.message}` : `The ${what} provider refused: ${err.message}`;
    return new SceneFailure(err.code, message, err.retryable, err);
  }
  if (err instanceof MediaError && err.code === 'invalid_input') return new SceneFailure('invalid_input', err.message, false, err);
  return err;
}

async function markRunning(db: Knex, scene: GenerationSceneRow): Promise<void> {
  const now = nowIso();
  await db.transaction(async (trx) => {
    // The generation row first, as landScene and onSceneFailed (and a render's cancel) take them:
    // scene row then generation row here deadlocked on PostgreSQL with a cancel failing the scene.
    await getGeneration(trx, scene.generation_id, { lock: true });
    await trx('generation_scenes')
      .where({ generation_id: scene.generation_id, node_id: scene.node_id })
      .whereIn('status', UNFINISHED)
      .update({ status: 'running', step: scene.step ?? 'image', started_at: scene.started_at ?? now, updated_at: now });
    await trx('generations').where({ id: scene.generation_id, status: 'queued' }).update({ status: 'running', started_at: now, updated_at: now });
  });
}

async function setStep(db: Knex, scene: GenerationSceneRow, fields: Record<string, unknown>): Promise<void> {
  await db('generation_scenes')
    .where({ generation_id: scene.generation_id, node_id: scene.node_id, status: 'running' })
    .update({ ...fields, updated_at: nowIso() });
}

/**
 * The remote task an earlier run of this step submitted (to resume), and the hook that records a
 * new one before the provider is waited on. A crash after submission thus costs no second task.
 */
function taskMemory(db: Knex, scene: GenerationSceneRow, step: ProviderTask['step']): TaskMemory {
  const t = scene.provider_task;
  return {
    resume: t && t.step === step ? { model: t.model, id: t.id } : null,
    onSubmitted: (task) => setStep(db, scene, { provider_task: JSON.stringify({ step, model: task.model, id: task.id }) }),
  };
}

/** The provider of the video model the scene was priced with. */
function videoProvider(deps: GenerationJobDeps, scene: GenerationSceneRow) {
  const byModel = deps.providers.videoByModel;
  const provider = byModel ? byModel.get(scene.model) : deps.providers.imageToVideo;
  if (!provider) {
    throw new SceneFailure('model_unavailable', `The video model ${scene.model} this scene was priced with is no longer configured; it was not charged.`, true);
  }
  return provider;
}

/** The opening still: an imported image as is, one drawn by an earlier run, or a new one. */
async function openingImage(db: Knex, deps: GenerationJobDeps, scene: GenerationSceneRow, signal: AbortSignal): Promise<string> {
  if (scene.image_asset_id) {
    const asset = await db('assets').where({ id: scene.image_asset_id, account_id: scene.account_id }).first('file_key');
    if (!asset || !(await exists(deps.storage, String(asset.file_key)))) {
      throw new SceneFailure('asset_missing', `The imported image ${scene.image_asset_id} this scene starts from is gone.`, false);
    }
    return String(asset.file_key);
  }
  const key = fileKey(scene, 'png');
  if (scene.image_key === key && (await exists(deps.storage, key))) return key;
  try {
    await deps.storage.produce(key, (outPath) => deps.providers.textToImage.generateImage({
      prompt: scene.image_prompt ?? scene.prompt, width: scene.width, height: scene.height,
      outPath, sceneIndex: scene.position, nodeId: scene.node_id, signal,
      ...taskMemory(db, scene, 'image'),
    }));
  } catch (err) {
    throw classify(err, 'image');
  }
  return key;
}

/**
 * A clip that is not what was asked for. A hosted model may do better on another try; the
 * built-in clip maker runs here on the same image with the same arguments and would make the same
 * clip again, so its failure is neither blamed on a provider nor called retryable.
 */
function badClip(providerName: string, what: string): SceneFailure {
  if (providerName === 'local') {
    return new SceneFailure('bad_clip', `The built-in clip maker made ${what} from this scene's image; generating again would make the same.`, false);
  }
  return new SceneFailure('bad_clip', `The video provider ${providerName} delivered ${what}.`, true);
}

async function renderClip(db: Knex, deps: GenerationJobDeps, scene: GenerationSceneRow, imageKey: string, signal: AbortSignal) {
  const key = fileKey(scene, 'mp4');
  const provider = videoProvider(deps, scene);
  const image = await deps.storage.localCopy(imageKey);
  try {
    // Checked before it is stored: on S3 a clip the provider got wrong is never uploaded.
    return await deps.storage.produce(key, async (outPath) => {
      try {
        await provider.generateClip({
          imagePath: image.path, prompt: scene.prompt, durationS: scene.duration_s,
          width: scene.width, height: scene.height, outPath, sceneIndex: scene.position, nodeId: scene.node_id, signal,
          ...taskMemory(db, scene, 'video'),
        });
      } catch (err) {
        throw classify(err, 'video');
      }
      // Trust but verify: what lands must be a clip of the asked length with picture and sound.
      // With the decoder-configuration hash, so renders can use this probe as it is (clip_probes).
      const probe = await probeClip(outPath, { signal });
      const tolerance = deps.durationToleranceS ?? 0.1;
      if (!probe.hasVideo || !probe.hasAudio) {
        throw badClip(provider.name, `a clip without ${probe.hasVideo ? 'audio' : 'video'}`);
      }
      if (Math.abs(probe.durationS - scene.duration_s) > tolerance) {
        throw badClip(provider.name, `${probe.durationS.toFixed(2)} s instead of ${scene.duration_s} s`);
      }
      return { key, durationS: probe.durationS, probe };
    });
  } finally {
    await image.release();
  }
}

/**
 * Closes the generation once none of its scenes is left to run (in the caller's transaction,
 * which has locked the generation row, so two scenes finishing at once see each other).
 */
async function maybeFinishGeneration(trx: Knex.Transaction, generationId: string): Promise<void> {
  const scenes = await generationScenes(trx, generationId);
  if (scenes.some((s) => UNFINISHED.includes(s.status))) return;
  const failed = scenes.filter((s) => s.status === 'failed');
  const charged = scenes.reduce((sum, s) => sum + s.credits_charged, 0);
  const status = failed.length ? 'failed' : 'succeeded';
  const now = nowIso();
  const n = await trx('generations')
    .where({ id: generationId })
    .whereIn('status', ['queued', 'running'])
    .update({ status, credits_charged: charged, finished_at: now, updated_at: now });
  if (Number(n) !== 1) return;
  const first = scenes[0]!;
  await emitEvent(trx, {
    accountId: first.account_id,
    type: 'generation.finished',
    payload: {
      generation_id: generationId, workflow_id: first.workflow_id, status,
      scenes: scenes.map((s) => ({ node_id: s.node_id, index: s.position, status: s.status, credits_charged: s.credits_charged, error: s.error })),
      credits_charged: charged,
    },
  });
}

/** Charges the scene and lands its artifacts, once. False if the scene was already finished. */
async function landScene(db: Knex, scene: GenerationSceneRow, imageKey: string, clip: { key: string; durationS: number; probe: MediaProbe }): Promise<boolean> {
  return db.transaction(async (trx) => {
    await getGeneration(trx, scene.generation_id, { lock: true });
    const now = nowIso();
    const n = await trx('generation_scenes')
      .where({ generation_id: scene.generation_id, node_id: scene.node_id, status: 'running' })
      .update({
        status: 'generated', step: null, image_key: imageKey, clip_key: clip.key, clip_duration_s: clip.durationS,
        credits_charged: scene.credits, error: null, finished_at: now, updated_at: now,
      });
    if (Number(n) !== 1) return false;
    try {
      await commit(trx, scene.reservation_id, scene.credits);
    } catch (err) {
      if (err instanceof ReservationNotOpenError) {
        throw new SceneFailure('reservation_expired', `The credits held for this scene were released (${err.reservationStatus}) before its clip landed; it was not charged.`, true, err);
      }
      throw err;
    }
    await trx('workflow_scenes')
      .where({ workflow_id: scene.workflow_id, node_id: scene.node_id, status: 'generating' })
      .update({ status: 'generated', image_key: imageKey, clip_key: clip.key, error: null, updated_at: now });
    await saveClipProbe(trx, clip.key, clip.probe);
    await recordUsage(trx, scene.account_id, { clips_generated: 1 });
    await emitEvent(trx, {
      accountId: scene.account_id,
      type: 'scene.generated',
      payload: {
        generation_id: scene.generation_id, workflow_id: scene.workflow_id, node_id: scene.node_id, index: scene.position,
        duration_s: clip.durationS, credits_charged: scene.credits,
      },
    });
    await maybeFinishGeneration(trx, scene.generation_id);
    return true;
  });
}

async function runScene(deps: GenerationJobDeps, job: Job<SceneJobPayload>, ctx: JobContext): Promise<unknown> {
  const { generation_id, node_id } = job.payload;
  const scene = await getGenerationScene(ctx.db, generation_id, node_id);
  if (!scene || !UNFINISHED.includes(scene.status)) return { skipped: scene?.status ?? 'missing' };
  const reservation = await getReservation(ctx.db, scene.reservation_id);
  if (!reservation || reservation.status !== 'open') {
    throw new SceneFailure('reservation_expired', `The credits held for this scene were released (${reservation?.status ?? 'missing'}) before it could run; it was not charged.`, true);
  }
  await markRunning(ctx.db, scene);

  const imageKey = await openingImage(ctx.db, deps, scene, ctx.signal);
  if (scene.step !== 'video') await setStep(ctx.db, scene, { image_key: imageKey, step: 'video' });
  const clip = await renderClip(ctx.db, deps, scene, imageKey, ctx.signal);
  const landed = await landScene(ctx.db, scene, imageKey, clip);
  return { landed, clip_key: clip.key, duration_s: clip.durationS };
}

/**
 * The scene's error as the customer sees it (the API, webhooks, MCP): every branch carries words
 * of a provider, ffmpeg or the file system, so none may show the server's directories.
 */
function sceneError(failure: JobFailure, attempts: number): SceneError {
  const e = sceneErrorOf(failure, attempts);
  return { ...e, message: withoutLocalPaths(e.message).slice(0, 1000) };
}

function sceneErrorOf(failure: JobFailure, attempts: number): SceneError {
  const err = failure.error;
  if (err instanceof SceneFailure) return { code: err.code, message: err.message, retryable: err.retryable };
  if (failure.reason === 'lease_expired') {
    return {
      code: 'worker_lost',
      message: `The worker generating this scene stopped responding (${attempts} attempt${attempts === 1 ? '' : 's'}); it was not charged.`,
      retryable: true,
    };
  }
  if (err instanceof ProviderError) {
    return { code: err.code, message: `The provider kept failing (${attempts} attempts): ${err.message}`, retryable: err.retryable };
  }
  if (err instanceof StorageUnavailableError) {
    // err.message names no address (the log has the store's own error); the scene may simply be generated again later.
    return { code: 'storage_unavailable', message: `The scene could not be stored after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${err.message} It was not charged.`, retryable: true };
  }
  if (isDiskFull(err)) {
    // Ours and passing, like the store being away; the error itself (a path) is in the job's log line.
    return { code: 'storage_unavailable', message: `The scene could not be stored after ${attempts} attempt${attempts === 1 ? '' : 's'}: the server is out of disk space. It was not charged; generate it again later.`, retryable: true };
  }
  const message = err instanceof Error ? err.message : failure.message;
  return { code: 'generation_failed', message: `Generating the scene failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${message}`, retryable: true };
}

/**
 * The failure hook: in the transaction that marks the job failed, the scene is marked failed,
 * its reservation released, and the workflow scene told why. A re-rolled scene that already had
 * a clip keeps it (and stays generated); the attempt's error is kept on the generation.
 */
export const onSceneFailed: FailureHook<SceneJobPayload> = async (job, failure, trx) => {
  const { generation_id, node_id } = job.payload ?? ({} as SceneJobPayload);
  if (!generation_id || !node_id) return;
  await getGeneration(trx, generation_id, { lock: true });
  const scene = await getGenerationScene(trx, generation_id, node_id);
  if (!scene) return;
  const error = sceneError(failure, job.attempts);
  const now = nowIso();
  const n = await trx('generation_scenes')
    .where({ generation_id, node_id })
    .whereIn('status', UNFINISHED)
    .update({ status: 'failed', step: null, error: JSON.stringify(error), finished_at: now, updated_at: now });
  if (Number(n) !== 1) return;
  try {
    await release(trx, scene.reservation_id);
  } catch (err) {
    if (!(err instanceof ReservationNotOpenError)) throw err;
  }
  const ws = await trx('workflow_scenes').where({ workflow_id: scene.workflow_id, node_id, status: 'generating' }).first('clip_key');
  if (ws) {
    await trx('workflow_scenes')
      .where({ workflow_id: scene.workflow_id, node_id, status: 'generating' })
      .update({ status: ws.clip_key ? 'generated' : 'failed', error: JSON.stringify(error), updated_at: now });
  }
  await maybeFinishGeneration(trx, generation_id);
};

/**
 * A failed scene's files that no row names: an attempt stored its clip (or drew its still) and then
 * its worker died, or the store took the upload and its answer was lost. Nothing else would ever
 * remove them. A still the scene recorded stays (the status shows it). Handed to the removal job
 * in the failure's transaction, which waits out a store that is away.
 */
async function removeUnrecordedFiles(trx: Knex.Transaction, payload: SceneJobPayload | undefined): Promise<void> {
  if (!payload?.generation_id || !payload.node_id) return;
  const scene = await getGenerationScene(trx, payload.generation_id, payload.node_id);
  if (scene?.status !== 'failed') return;
  const keys = [fileKey(scene, 'mp4'), fileKey(scene, 'png')].filter((k) => k !== scene.image_key && k !== scene.clip_key);
  await queueOrphanRemoval(trx, scene.workflow_id, keys, `scene:${scene.generation_id}:${scene.node_id}`);
}

/** The job handlers generation contributes to a worker. */
export function generationJobHandlers(deps: GenerationJobDeps): Record<string, HandlerEntry> {
  return {
    [SCENE_JOB]: {
      run: (job, ctx) => runScene(deps, job as Job<SceneJobPayload>, ctx),
      onFailed: async (job, failure, trx) => {
        await onSceneFailed(job, failure, trx);
        await removeUnrecordedFiles(trx, (job as Job<SceneJobPayload>).payload);
      },
    },
  };
}
