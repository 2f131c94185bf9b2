/**
 * Rows of `generations` and `generation_scenes` (migration 007), read and moved forward with
 * conditional updates only. Every function takes a Knex handle or a transaction.
 */
import type { Knex } from 'knex';
import { dbKind, nowIso } from '../db/knex.js';
import { clusterDate } from '../db/cluster-time.js';

type Db = Knex | Knex.Transaction;

export type GenerationStatus = 'queued' | 'running' | 'succeeded' | 'failed';
export type GenerationSceneStatus = 'queued' | 'running' | 'generated' | 'failed';
const ACTIVE: GenerationStatus[] = ['queued', 'running'];
export const UNFINISHED: GenerationSceneStatus[] = ['queued', 'running'];

export interface GenerationRow {
  id: string;
  account_id: string;
  workflow_id: string;
  status: GenerationStatus;
  scene_count: number;
  credits_reserved: number;
  credits_charged: number;
  reroll_hint: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface SceneError {
  code: string;
  message: string;
  /** Whether generating the scene again may succeed (false: a content refusal; change the prompt). */
  retryable: boolean;
}

/**
 * Rows written before `retryable` was recorded (or by hand) lack it: only a content refusal is
 * known to fail the same way again, so anything else counts as worth retrying.
 */
function retryableOf(code: string, value: unknown): boolean {
  return typeof value === 'boolean' ? value : code !== 'content_policy';
}

/** The remote task a running scene waits for (migration 009). */
export interface ProviderTask {
  step: 'image' | 'video';
  model: string;
  id: string;
}

export interface GenerationSceneRow {
  generation_id: string;
  node_id: string;
  workflow_id: string;
  account_id: string;
  position: number;
  prompt: string;
  image_prompt: string | null;
  image_asset_id: string | null;
  duration_s: number;
  width: number;
  height: number;
  model: string;
  credits: number;
  reservation_id: string;
  job_id: string | null;
  status: GenerationSceneStatus;
  step: 'image' | 'video' | null;
  image_key: string | null;
  clip_key: string | null;
  clip_duration_s: number | null;
  credits_charged: number;
  error: SceneError | null;
  provider_task: ProviderTask | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const num = (v: unknown) => Number(v ?? 0);

export function toGeneration(r: Record<string, unknown>): GenerationRow {
  return {
    ...(r as unknown as GenerationRow),
    scene_count: num(r.scene_count),
    credits_reserved: num(r.credits_reserved),
    credits_charged: num(r.credits_charged),
  };
}

export function parseSceneError(text: unknown): SceneError | null {
  if (text === null || text === undefined || text === '') return null;
  try {
    const e = JSON.parse(String(text)) as Partial<SceneError>;
    const code = String(e.code ?? 'failed');
    return { code, message: String(e.message ?? 'The attempt failed.'), retryable: retryableOf(code, e.retryable) };
  } catch {
    return { code: 'failed', message: String(text), retryable: true };
  }
}

export function toGenerationScene(r: Record<string, unknown>): GenerationSceneRow {
  return {
    ...(r as unknown as GenerationSceneRow),
    position: num(r.position),
    duration_s: num(r.duration_s),
    width: num(r.width),
    height: num(r.height),
    credits: num(r.credits),
    credits_charged: num(r.credits_charged),
    clip_duration_s: r.clip_duration_s === null || r.clip_duration_s === undefined ? null : Number(r.clip_duration_s),
    error: parseSceneError(r.error),
    provider_task: parseTask(r.provider_task),
  };
}

function parseTask(text: unknown): ProviderTask | null {
  if (typeof text !== 'string' || !text) return null;
  try {
    const t = JSON.parse(text) as Partial<ProviderTask>;
    return t.step && t.model && t.id ? { step: t.step, model: t.model, id: t.id } : null;
  } catch {
    return null;
  }
}

export async function latestGeneration(db: Db, workflowId: string): Promise<GenerationRow | null> {
  const row = await db('generations').where({ workflow_id: workflowId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).first();
  return row ? toGeneration(row) : null;
}

export async function activeGeneration(db: Db, workflowId: string): Promise<GenerationRow | null> {
  const row = await db('generations').where({ workflow_id: workflowId }).whereIn('status', ACTIVE).first();
  return row ? toGeneration(row) : null;
}

export async function getGeneration(db: Db, id: string, opts: { lock?: boolean } = {}): Promise<GenerationRow | null> {
  const q = db('generations').where({ id }).first();
  if (opts.lock && dbKind(db as Knex) === 'postgres') q.forUpdate();
  const row = await q;
  return row ? toGeneration(row) : null;
}

export async function generationScenes(db: Db, generationId: string): Promise<GenerationSceneRow[]> {
  const rows = await db('generation_scenes').where({ generation_id: generationId }).orderBy('position');
  return rows.map(toGenerationScene);
}

export async function getGenerationScene(db: Db, generationId: string, nodeId: string): Promise<GenerationSceneRow | null> {
  const row = await db('generation_scenes').where({ generation_id: generationId, node_id: nodeId }).first();
  return row ? toGenerationScene(row) : null;
}

/** The generation scene a reservation pays for, if any (its reservation is not the caller's to resolve). */
export async function sceneByReservation(db: Db, reservationId: string): Promise<GenerationSceneRow | null> {
  const row = await db('generation_scenes').where({ reservation_id: reservationId }).first();
  return row ? toGenerationScene(row) : null;
}

/** Adds to an account's usage counters for the UTC day of `at` (in the caller's transaction). */
export async function recordUsage(
  db: Db,
  accountId: string,
  counts: { clips_generated?: number; renders?: number },
  at: Date = clusterDate(),
): Promise<void> {
  const clips = counts.clips_generated ?? 0;
  const renders = counts.renders ?? 0;
  if (!clips && !renders) return;
  const day = at.toISOString().slice(0, 10);
  await db('usage_daily')
    .insert({ account_id: accountId, day, clips_generated: clips, renders })
    .onConflict(['account_id', 'day'])
    .merge({
      clips_generated: db.raw('usage_daily.clips_generated + ?', [clips]),
      renders: db.raw('usage_daily.renders + ?', [renders]),
    });
}

export { nowIso };
