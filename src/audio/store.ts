/**
 * The audio model in the database: a clip's native sound (`clip_audio`) and the tracks laid over
 * the video (`audio_tracks`, migration 008). Every read and write is scoped to the calling
 * account through its workflow, so another account's workflow, clip, track or asset answers 404.
 */
import type { Knex } from 'knex';
import { nowIso, type Db } from '../db/knex.js';
import { DomainError, NotFoundError, ValidationError } from '../errors.js';
import { probeMedia } from '../media/index.js';
import { FileMissingError, type Storage } from '../storage/index.js';
import { newId } from '../util/ids.js';
import type { SceneRow } from '../workflows/compile.js';
import { findWorkflow, listScenes, type WorkflowRow } from '../workflows/store.js';
import { buildLayout, DEFAULT_NATIVE, round3, type AudioLayout, type NativeAudioSetting, type TrackFields, type TrackInput, type TrackKind } from './layout.js';

export type { TrackFields };

type Handle = Db | Knex.Transaction;

export interface WorkflowAudioLayout extends AudioLayout {
  workflow: WorkflowRow;
  scenes: SceneRow[];
}

const AUDIO_KINDS = new Set(['music', 'voice', 'sfx']);

const num = (v: unknown) => Number(v);
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function toTrackInput(r: Record<string, unknown>): TrackInput {
  return {
    id: String(r.id),
    workflow_id: String(r.workflow_id),
    clip_id: String(r.node_id),
    asset_id: String(r.asset_id),
    kind: r.kind as TrackKind,
    volume_db: num(r.volume_db),
    offset_s: num(r.offset_s),
    trim_start_s: num(r.trim_start_s),
    trim_end_s: numOrNull(r.trim_end_s),
    fade_in_s: num(r.fade_in_s),
    fade_out_s: num(r.fade_out_s),
    created_at: String(r.created_at),
    updated_at: String(r.updated_at),
    file_key: String(r.file_key),
    asset_duration_s: numOrNull(r.asset_duration_s),
  };
}

function clipNotFound(workflowId: string, clipId: string): DomainError {
  return new DomainError('not_found', `Workflow ${workflowId} has no clip '${clipId}' (a clip is named by its scene's video node_id).`, {
    resource: 'clip', id: clipId,
  });
}

function invalid(field: string, message: string, code = 'invalid_value'): ValidationError {
  return new ValidationError({ body: [{ path: [field], message, code }] }, message);
}

function nothingToChange(fields: string[]): ValidationError {
  const message = `Nothing to change: give at least one of ${fields.join(', ')}.`;
  return new ValidationError({ body: [{ path: [], message, code: 'too_small' }] }, message);
}

async function tracksOf(db: Handle, workflowId: string): Promise<TrackInput[]> {
  const rows = await db('audio_tracks as t')
    .join('assets as a', 'a.id', 't.asset_id')
    .where('t.workflow_id', workflowId)
    .orderBy([{ column: 't.created_at' }, { column: 't.id' }])
    .select('t.*', 'a.file_key as file_key', 'a.duration_s as asset_duration_s');
  return rows.map(toTrackInput);
}

async function nativeSettings(db: Handle, workflowId: string): Promise<Map<string, NativeAudioSetting>> {
  const rows = await db('clip_audio').where({ workflow_id: workflowId });
  return new Map(rows.map((r) => [String(r.node_id), { enabled: Boolean(r.native_enabled), volume_db: num(r.native_volume_db) }]));
}

/** The workflow's whole audio layout (404 for a workflow of another account). */
export async function loadAudioLayout(db: Handle, accountId: string, workflowId: string): Promise<WorkflowAudioLayout> {
  const workflow = await findWorkflow(db as Db, accountId, workflowId);
  const scenes = await listScenes(db as Db, workflowId);
  const [native, tracks] = await Promise.all([nativeSettings(db, workflowId), tracksOf(db, workflowId)]);
  const layout = buildLayout(
    scenes.map((s) => ({ clip_id: s.node_id, index: s.position, duration_s: s.duration_s, native: native.get(s.node_id) ?? DEFAULT_NATIVE })),
    tracks,
  );
  return { ...layout, workflow, scenes };
}

async function requireScene(db: Handle, workflowId: string, clipId: string): Promise<SceneRow> {
  const row = await db('workflow_scenes').where({ workflow_id: workflowId, node_id: clipId }).first();
  if (!row) throw clipNotFound(workflowId, clipId);
  return row as SceneRow;
}

/** Mutes, unmutes or re-levels a clip's own sound; only the fields given change. */
export async function setNativeAudio(
  db: Db, accountId: string, workflowId: string, clipId: string, patch: { enabled?: boolean; volume_db?: number },
): Promise<void> {
  if (patch.enabled === undefined && patch.volume_db === undefined) throw nothingToChange(['enabled', 'volume_db']);
  await db.transaction(async (trx) => {
    await findWorkflow(trx, accountId, workflowId, { lock: true });
    await requireScene(trx, workflowId, clipId);
    const now = nowIso();
    const set: Record<string, unknown> = { updated_at: now };
    if (patch.enabled !== undefined) set.native_enabled = patch.enabled;
    if (patch.volume_db !== undefined) set.native_volume_db = patch.volume_db;
    await trx('clip_audio')
      .insert({
        workflow_id: workflowId, node_id: clipId, account_id: accountId,
        native_enabled: patch.enabled ?? DEFAULT_NATIVE.enabled, native_volume_db: patch.volume_db ?? DEFAULT_NATIVE.volume_db, updated_at: now,
      })
      .onConflict(['workflow_id', 'node_id'])
      .merge(set);
  });
}

interface AssetRowLite {
  id: string;
  kind: string;
  file_key: string;
  duration_s: number | null;
}

/**
 * The asset a track plays: the account's own (404 otherwise) and carrying sound: a music, voice
 * or sfx asset, or a video with an audio stream (400 `asset_not_audio` otherwise).
 */
async function audioAsset(db: Db, storage: Storage, accountId: string, assetId: string): Promise<AssetRowLite> {
  const row = await db('assets').where({ id: assetId, account_id: accountId }).first('id', 'kind', 'file_key', 'duration_s');
  if (!row) throw new NotFoundError('asset', assetId);
  const asset: AssetRowLite = { id: row.id, kind: row.kind, file_key: row.file_key, duration_s: numOrNull(row.duration_s) };
  const notAudio = (what: string) =>
    new DomainError('asset_not_audio', `Asset ${assetId} is ${what}, which has no sound to play as a track; attach a music, voice or sfx asset (or a video with sound).`, {
      asset_id: assetId, asset_kind: asset.kind,
    });
  if (AUDIO_KINDS.has(asset.kind)) return asset;
  if (asset.kind !== 'video') throw notAudio(`an ${asset.kind}`);
  // A missing file is a video we cannot hear; the store failing is not (it answers unavailable).
  const file = await storage.localCopy(asset.file_key).catch((err: unknown) => {
    if (err instanceof FileMissingError) return null;
    throw err;
  });
  const probe = file && (await probeMedia(file.path).catch(() => null).finally(() => file.release()));
  if (!probe?.hasAudio) throw notAudio('a video without an audio stream');
  return asset;
}

function checkTrim(fields: Pick<TrackFields, 'trim_start_s' | 'trim_end_s'>, assetDurationS: number | null): void {
  if (fields.trim_end_s !== null && fields.trim_end_s <= fields.trim_start_s) {
    throw invalid('trim_end_s', `trim_end_s (${fields.trim_end_s}) must be after trim_start_s (${fields.trim_start_s}).`);
  }
  if (assetDurationS !== null && fields.trim_start_s >= assetDurationS) {
    throw invalid('trim_start_s', `trim_start_s (${fields.trim_start_s}) is past the end of the asset (${round3(assetDurationS)} s).`);
  }
}

export async function attachTrack(
  db: Db, storage: Storage, accountId: string, workflowId: string, clipId: string,
  input: { asset_id: string } & Partial<TrackFields> & { kind: TrackKind },
  /** Also run in the writing transaction, with the new track's id (a caller's record of it). */
  recordIn?: (trx: Knex.Transaction, trackId: string) => Promise<void>,
): Promise<string> {
  await findWorkflow(db, accountId, workflowId);
  await requireScene(db, workflowId, clipId);
  // The probe (for a video asset) runs outside any transaction: it can take a moment.
  const asset = await audioAsset(db, storage, accountId, input.asset_id);
  const fields: TrackFields = {
    kind: input.kind,
    volume_db: input.volume_db ?? 0,
    offset_s: input.offset_s ?? 0,
    trim_start_s: input.trim_start_s ?? 0,
    trim_end_s: input.trim_end_s ?? null,
    fade_in_s: input.fade_in_s ?? 0,
    fade_out_s: input.fade_out_s ?? 0,
  };
  checkTrim(fields, asset.duration_s);
  const id = newId('trk');
  await db.transaction(async (trx) => {
    // Re-checked in the writing transaction: the workflow or the scene may have gone meanwhile.
    await findWorkflow(trx, accountId, workflowId, { lock: true });
    await requireScene(trx, workflowId, clipId);
    const now = nowIso();
    await trx('audio_tracks').insert({
      id, account_id: accountId, workflow_id: workflowId, node_id: clipId, asset_id: asset.id, ...fields, created_at: now, updated_at: now,
    });
    await recordIn?.(trx, id);
  });
  return id;
}

async function requireTrack(db: Handle, accountId: string, workflowId: string, trackId: string): Promise<TrackInput> {
  const row = await db('audio_tracks as t')
    .join('assets as a', 'a.id', 't.asset_id')
    .where({ 't.id': trackId, 't.workflow_id': workflowId, 't.account_id': accountId })
    .first('t.*', 'a.file_key as file_key', 'a.duration_s as asset_duration_s');
  if (!row) throw new NotFoundError('track', trackId);
  return toTrackInput(row);
}

export async function updateTrack(
  db: Db, accountId: string, workflowId: string, trackId: string,
  patch: Partial<TrackFields> & { clip_id?: string },
): Promise<void> {
  const fields = ['clip_id', 'kind', 'volume_db', 'offset_s', 'trim_start_s', 'trim_end_s', 'fade_in_s', 'fade_out_s'] as const;
  if (fields.every((f) => patch[f] === undefined)) throw nothingToChange([...fields]);
  await db.transaction(async (trx) => {
    await findWorkflow(trx, accountId, workflowId, { lock: true });
    const current = await requireTrack(trx, accountId, workflowId, trackId);
    if (patch.clip_id !== undefined) await requireScene(trx, workflowId, patch.clip_id);
    const next = {
      trim_start_s: patch.trim_start_s ?? current.trim_start_s,
      trim_end_s: patch.trim_end_s === undefined ? current.trim_end_s : patch.trim_end_s,
    };
    checkTrim(next, current.asset_duration_s);
    const set: Record<string, unknown> = { updated_at: nowIso() };
    for (const key of ['kind', 'volume_db', 'offset_s', 'trim_start_s', 'trim_end_s', 'fade_in_s', 'fade_out_s'] as const) {
      if (patch[key] !== undefined) set[key] = patch[key];
    }
    if (patch.clip_id !== undefined) set.node_id = patch.clip_id;
    await trx('audio_tracks').where({ id: trackId, workflow_id: workflowId, account_id: accountId }).update(set);
  });
}

export async function detachTrack(db: Db, accountId: string, workflowId: string, trackId: string): Promise<void> {
  await findWorkflow(db, accountId, workflowId);
  const n = await db('audio_tracks').where({ id: trackId, workflow_id: workflowId, account_id: accountId }).delete();
  if (Number(n) !== 1) throw new NotFoundError('track', trackId);
}
