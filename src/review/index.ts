/**
 * Review: the quality check and still frames of a scene's clip or of the final video. The target
 * is resolved here (a scene by its node id, or the latest succeeded render); the measuring is the
 * media library's (the signal rubric, plus any other configured vision provider).
 */
import crypto from 'node:crypto';
import type { Db } from '../db/knex.js';
import { DomainError } from '../errors.js';
import { extractFrame, ProviderError, qualityCheck, type MediaProviders, type RubricResult } from '../media/index.js';
import { latestSucceededRender, noFinishedRender } from '../renders/store.js';
import { FileMissingError, type LocalFile, type Storage } from '../storage/index.js';
import { findWorkflow, listScenes } from '../workflows/store.js';

/** What is reviewed: a file, and what it should be. */
interface ReviewTarget {
  /** The scene's node id, or null for the final video. */
  nodeId: string | null;
  /** Storage key of the media. */
  key: string;
  expectedDurationS: number;
  width: number;
  height: number;
}

export interface ReviewDeps {
  db: Db;
  storage: Storage;
  /** Clip size the current settings generate for a frame shape (for clips of unknown make). */
  clipSize: (aspectRatio: string) => { width: number; height: number };
}

function notGenerated(workflowId: string, nodeId: string, why = 'has no clip yet'): DomainError {
  return new DomainError('not_generated', `Scene ${nodeId} of workflow ${workflowId} ${why}; generate it with generate_scene first.`, {
    workflow_id: workflowId, node_id: nodeId,
  });
}

/** A scene's clip (`nodeId`, or its image node's id) or the latest succeeded render. */
async function resolveTarget(deps: ReviewDeps, accountId: string, workflowId: string, nodeId?: string): Promise<ReviewTarget> {
  const { db, storage } = deps;
  const workflow = await findWorkflow(db, accountId, workflowId);
  if (nodeId === undefined) {
    const render = await latestSucceededRender(db, accountId, workflowId);
    if (!render?.output_key || !(await storage.stat(render.output_key))) throw noFinishedRender(workflowId);
    return { nodeId: null, key: render.output_key, expectedDurationS: render.plan.duration_s, width: render.width, height: render.height };
  }
  const scenes = await listScenes(db, workflowId);
  const scene = scenes.find((s) => s.node_id === nodeId) ?? scenes.find((s) => s.image_node_id === nodeId);
  if (!scene) {
    throw new DomainError('not_found', `Workflow ${workflowId} has no scene with node id '${nodeId}'.`, { resource: 'scene', id: nodeId });
  }
  if (!scene.clip_key) throw notGenerated(workflowId, scene.node_id);
  if (!(await storage.stat(scene.clip_key))) throw notGenerated(workflowId, scene.node_id, 'has lost its clip file');
  // The size the clip was made at, when its generation recorded it; else what generation makes now.
  const made = await db('generation_scenes').where({ workflow_id: workflowId, clip_key: scene.clip_key }).first('width', 'height');
  const size = made ? { width: Number(made.width), height: Number(made.height) } : deps.clipSize(workflow.aspect_ratio);
  return { nodeId: scene.node_id, key: scene.clip_key, expectedDurationS: scene.duration_s, ...size };
}

export interface QualityReport {
  node_id: string | null;
  pass: boolean;
  score: number;
  failures: { check: string; message: string; at_s?: number }[];
  reroll_hint: string | null;
  probe: { duration_s: number; has_video: boolean; has_audio: boolean; width: number; height: number };
  /** Whether a hosted vision model judged the clip too, so a caller knows what `pass` rests on. */
  vision_review: VisionReview;
}

/**
 * `reviewed`: the model's findings are in the report. `not_configured`: no model is set up, only
 * the signal checks ran. `unavailable`: a model is set up but failed or answered nonsense, so
 * only the signal checks ran this time; checking again later may include it.
 */
export interface VisionReview {
  status: 'reviewed' | 'not_configured' | 'unavailable';
  provider: string | null;
}

function reportFrom(target: ReviewTarget, result: RubricResult, visionReview: VisionReview): QualityReport {
  const p = result.probe;
  return {
    node_id: target.nodeId,
    pass: result.pass,
    score: Math.min(1, Math.max(0, result.score)),
    failures: result.failures.map((f) => ({
      check: f.check, message: f.message, ...(f.at_s !== undefined ? { at_s: Math.max(0, f.at_s) } : {}),
    })),
    reroll_hint: result.reroll_hint,
    probe: {
      duration_s: p ? Math.round(p.durationS * 1000) / 1000 : 0,
      has_video: p?.hasVideo ?? false,
      has_audio: p?.hasAudio ?? false,
      width: p?.width ?? 0,
      height: p?.height ?? 0,
    },
    vision_review: visionReview,
  };
}

/** The quality check of a target: the signal rubric, merged with any other vision provider. */
export async function checkQuality(
  deps: ReviewDeps, providers: MediaProviders, accountId: string, workflowId: string, nodeId?: string,
): Promise<QualityReport> {
  const target = await resolveTarget(deps, accountId, workflowId, nodeId);
  const extra = providers.vision === providers.rubric ? [] : [providers.vision];
  const files: LocalFile[] = [];
  try {
    return await checkFiles(deps, providers, target, extra, workflowId, files);
  } finally {
    await Promise.all(files.map((f) => f.release()));
  }
}

/** checkQuality on local copies of the media, each added to `files` so the caller releases it. */
async function checkFiles(
  deps: ReviewDeps, providers: MediaProviders, target: ReviewTarget,
  extra: MediaProviders['vision'][], workflowId: string, files: LocalFile[],
): Promise<QualityReport> {
  const video = await deps.storage.localCopy(target.key);
  files.push(video);
  const req = {
    videoPath: video.path,
    expectedDurationS: target.expectedDurationS,
    expectAudio: true,
    expectedWidth: target.width,
    expectedHeight: target.height,
    nodeId: target.nodeId ?? undefined,
    ...(await visionContext(deps, workflowId, target.nodeId, files)),
  };
  const model = extra[0]?.name ?? null;
  try {
    const result = await qualityCheck(req, { rubric: providers.rubric, extraProviders: extra });
    return reportFrom(target, result, { status: model ? 'reviewed' : 'not_configured', provider: model });
  } catch (err) {
    // A hosted reviewer that is down or confused must not take quality_check with it: the signal
    // rubric alone answers (configured test failures, which are not remote, still surface).
    if (!(err instanceof ProviderError) || err.provider === providers.rubric.name) throw err;
    return reportFrom(target, await qualityCheck(req, { rubric: providers.rubric }), { status: 'unavailable', provider: model });
  }
}

/**
 * What a vision reviewer judges against: the scene's prompt, and the opening stills of the
 * workflow's other scenes (to see whether a character drifted from one scene to the next).
 */
async function visionContext(deps: ReviewDeps, workflowId: string, nodeId: string | null, files: LocalFile[]): Promise<{ prompt?: string; referenceFrames: string[] }> {
  const scenes = await listScenes(deps.db, workflowId);
  const referenceFrames: string[] = [];
  for (const s of scenes) {
    if (s.node_id === nodeId || !s.image_key) continue;
    const still = await deps.storage.localCopy(s.image_key).catch((err) => {
      if (err instanceof FileMissingError) return null;
      throw err;
    });
    if (!still) continue;
    files.push(still);
    referenceFrames.push(still.path);
  }
  const prompt = nodeId ? scenes.find((s) => s.node_id === nodeId)?.prompt : scenes.map((s) => s.prompt).join(' / ');
  return { prompt, referenceFrames };
}

export interface SceneFrame {
  key: string;
  width: number;
  height: number;
  at_s: number;
}

/**
 * A PNG still of the target at `atS` (default: the middle), clamped into the media. Stills are
 * stored beside the account's other files, named after the media they come from and the time.
 */
export async function sceneFrame(deps: ReviewDeps, accountId: string, workflowId: string, opts: { nodeId?: string; atS?: number; maxSide?: number }): Promise<SceneFrame> {
  const target = await resolveTarget(deps, accountId, workflowId, opts.nodeId);
  const wanted = opts.atS ?? target.expectedDurationS / 2;
  const source = crypto.createHash('sha256').update(target.key).digest('base64url').slice(0, 16);
  const size = opts.maxSide ? `-max${opts.maxSide}` : '';
  const key = deps.storage.keyFor(accountId, `frames/${workflowId}/${source}-${Math.round(wanted * 1000)}${size}.png`);
  const input = await deps.storage.localCopy(target.key);
  const frame = await deps.storage.produce(key, (outPath) => extractFrame({ inputPath: input.path, atS: wanted, outPath, maxSide: opts.maxSide }))
    .finally(() => input.release());
  return { key, width: frame.width, height: frame.height, at_s: Math.round(frame.atS * 1000) / 1000 };
}

export interface SceneReviewItem {
  node_id: string;
  index: number;
  status: string;
  quality: QualityReport | null;
  frame: SceneFrame | null;
}

/**
 * Every scene reviewed in one go (review_scenes): each generated scene's quality check and a
 * still from its middle, in playback order. Scenes without a clip are listed with nulls.
 */
export async function reviewScenes(
  deps: ReviewDeps, providers: MediaProviders, accountId: string, workflowId: string, opts: { maxSide?: number } = {},
): Promise<{ pass: boolean; reviewed: number; scenes: SceneReviewItem[] }> {
  await findWorkflow(deps.db, accountId, workflowId);
  const scenes = await listScenes(deps.db, workflowId);
  const out: SceneReviewItem[] = [];
  for (const scene of scenes) {
    const item: SceneReviewItem = { node_id: scene.node_id, index: scene.position, status: scene.status, quality: null, frame: null };
    if (scene.status === 'generated' && scene.clip_key) {
      item.quality = await checkQuality(deps, providers, accountId, workflowId, scene.node_id);
      item.frame = await sceneFrame(deps, accountId, workflowId, { nodeId: scene.node_id, maxSide: opts.maxSide });
    }
    out.push(item);
  }
  const reviewed = out.filter((s) => s.quality).length;
  return { pass: out.length > 0 && out.every((s) => s.quality?.pass === true), reviewed, scenes: out };
}
