/**
 * `get_generation_status`: the latest generation of a workflow as a person (or an agent relaying
 * to one) wants to hear it: one sentence for what is happening, a progress figure, and every scene
 * with whatever it has delivered so far.
 */
import type { Db } from '../db/knex.js';
import { jobWaits, type JobWait } from '../jobs/index.js';
import type { Storage } from '../storage/index.js';
import type { SceneRow } from '../workflows/compile.js';
import { findWorkflow, listScenes } from '../workflows/store.js';
import { sceneLabel } from './start.js';
import {
  generationScenes, latestGeneration, parseSceneError,
  type GenerationRow, type GenerationSceneRow, type GenerationStatus, type SceneError,
} from './store.js';

interface SceneProgress {
  node_id: string;
  index: number;
  status: 'draft' | 'generating' | 'generated' | 'failed';
  image_url: string | null;
  clip_url: string | null;
  duration_s: number;
  credits_charged: number;
  error: SceneError | null;
  /** Why the scene's work is not running now, while it waits to go on (src/jobs/waits.ts). */
  waiting: JobWait | null;
}

export interface GenerationStatusView {
  workflow_id: string;
  generation_id: string | null;
  phase: string;
  progress: number;
  status: 'idle' | GenerationStatus;
  scenes: SceneProgress[];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** How far one scene of a generation has come, 0..1 (the clip is most of the work). */
function sceneProgress(s: GenerationSceneRow): number {
  if (s.status === 'generated' || s.status === 'failed') return 1;
  if (s.status === 'running') return s.step === 'video' ? 0.25 : 0.05;
  return 0;
}

/** The sentence to read aloud. Scenes are numbered as people count them, out of the workflow's total. */
export function phaseOf(
  gen: GenerationRow | null, scenes: GenerationSceneRow[], workflowSceneCount: number,
  /** The scenes' own prompts by node id (without a re-roll's hint), when known. */
  prompts: Map<string, string> = new Map(),
  /** What scenes put back in the queue wait for, by node id. */
  waits: Map<string, JobWait> = new Map(),
): string {
  if (!gen) return 'Nothing has been generated for this workflow yet.';
  const of = (s: GenerationSceneRow) => `scene ${s.position + 1} of ${workflowSceneCount}`;
  const about = (s: GenerationSceneRow) => sceneLabel(prompts.get(s.node_id) ?? s.prompt);
  const generated = scenes.filter((s) => s.status === 'generated');
  const failed = scenes.filter((s) => s.status === 'failed');
  const n = scenes.length;
  const charged = generated.reduce((sum, s) => sum + s.credits_charged, 0);
  switch (gen.status) {
    case 'queued': {
      const stalled = scenes.find((s) => waits.has(s.node_id));
      if (stalled) return `Not started yet, at ${of(stalled)}: ${waits.get(stalled.node_id)!.message}`;
      return n === 1
        ? `Waiting to start ${of(scenes[0]!)}: ${about(scenes[0]!)}.`
        : `Waiting to start: ${plural(n, 'scene')} queued for generation.`;
    }
    case 'running': {
      const ready = generated.length ? `${generated.length} of ${n} ready. ` : '';
      const trouble = failed.length ? `${plural(failed.length, 'scene')} failed. ` : '';
      const stalled = scenes.find((s) => waits.has(s.node_id) && waits.get(s.node_id)!.reason !== 'retrying');
      if (stalled) return `${ready}${trouble}Paused at ${of(stalled)}: ${waits.get(stalled.node_id)!.message}`;
      const current = scenes.find((s) => s.status === 'running' && !waits.has(s.node_id));
      const retried = scenes.find((s) => waits.has(s.node_id));
      if (!current && retried) return `${ready}${trouble}Trying ${of(retried)} again: ${waits.get(retried.node_id)!.message}`;
      if (!current) return `${ready}${trouble}Waiting for the next scene to start.`;
      const doing = current.step === 'video' ? 'animating' : 'drawing the opening image of';
      return `${ready}${trouble}Generating ${of(current)}: ${doing} ${about(current)}.`;
    }
    case 'succeeded':
      return n === 1
        ? `Done: ${of(scenes[0]!)} (${about(scenes[0]!)}) is generated, for ${plural(charged, 'credit')}.`
        : `Done: all ${n} scenes are generated, for ${plural(charged, 'credit')} in total.`;
    case 'failed': {
      const first = failed[0];
      const why = first ? `${of(first)} (${about(first)}) failed and was not charged: ${first.error?.message ?? 'unknown error'}` : 'a scene failed';
      const more = failed.length > 1 ? ` ${plural(failed.length - 1, 'other scene')} failed too.` : '';
      // A refused key or account is for whoever runs the server to fix: the prompt is not the problem.
      const advice = first?.error?.code === 'provider_auth'
        ? ' The model\'s provider refused this server\'s credentials or account: the operator must fix its configuration; the prompt is not the problem.'
        : first?.error?.retryable === false
        ? ' Generating it again unchanged will fail the same way (not retryable): change its prompt or image first.'
        : first?.error?.retryable ? ' Generating it again may succeed (retryable).' : '';
      return `Finished with problems: ${generated.length} of ${n} scenes generated (${plural(charged, 'credit')} charged); ${why.replace(/[.\s]+$/, '')}.${more}${advice}`;
    }
  }
}

function progressOf(gen: GenerationRow | null, scenes: GenerationSceneRow[]): number {
  if (!gen || scenes.length === 0) return 0;
  if (gen.status === 'succeeded' || gen.status === 'failed') return 1;
  const p = scenes.reduce((sum, s) => sum + sceneProgress(s), 0) / scenes.length;
  return Math.min(1, Math.max(0, Math.round(p * 100) / 100));
}

function viewScene(storage: Storage, ws: SceneRow, gs: GenerationSceneRow | undefined, wait: JobWait | null): SceneProgress {
  const url = (key: string | null) => (key ? storage.signedUrl(key) : null);
  // A scene edited after the generation finished (back to draft) is told as it is now.
  const stale = gs?.finished_at != null && ws.updated_at > gs.finished_at;
  if (!gs || stale) {
    return {
      node_id: ws.node_id, index: ws.position, status: ws.status,
      image_url: url(ws.image_key), clip_url: url(ws.clip_key), duration_s: ws.duration_s, credits_charged: 0,
      error: ws.status === 'failed' ? parseSceneError(ws.error) : null,
      waiting: null,
    };
  }
  const status = gs.status === 'queued' || gs.status === 'running' ? 'generating' : gs.status;
  return {
    node_id: ws.node_id,
    index: ws.position,
    status,
    // This attempt's artifacts as they land; until then whatever the scene had before (a re-roll's old clip).
    image_url: url(gs.image_key ?? ws.image_key),
    clip_url: url(gs.clip_key ?? ws.clip_key),
    duration_s: gs.status === 'generated' && gs.clip_duration_s !== null ? gs.clip_duration_s : gs.duration_s,
    credits_charged: gs.credits_charged,
    error: gs.status === 'failed' ? gs.error : null,
    waiting: status === 'generating' ? wait : null,
  };
}

export async function generationStatus(db: Db, storage: Storage, accountId: string, workflowId: string): Promise<GenerationStatusView> {
  await findWorkflow(db, accountId, workflowId);
  const [workflowScenes, gen] = await Promise.all([listScenes(db, workflowId), latestGeneration(db, workflowId)]);
  const scenes = gen ? await generationScenes(db, gen.id) : [];
  const byNode = new Map(scenes.map((s) => [s.node_id, s]));
  const unfinished = scenes.filter((s) => s.status === 'queued' || s.status === 'running');
  const byJob = await jobWaits(db, unfinished.map((s) => s.job_id));
  const waits = new Map(unfinished.flatMap((s) => (s.job_id && byJob.has(s.job_id) ? [[s.node_id, byJob.get(s.job_id)!] as const] : [])));
  return {
    workflow_id: workflowId,
    generation_id: gen?.id ?? null,
    phase: phaseOf(gen, scenes, workflowScenes.length, new Map(workflowScenes.map((w) => [w.node_id, w.prompt])), waits),
    progress: progressOf(gen, scenes),
    status: gen?.status ?? 'idle',
    scenes: workflowScenes.map((ws) => viewScene(storage, ws, byNode.get(ws.node_id), waits.get(ws.node_id) ?? null)),
  };
}
