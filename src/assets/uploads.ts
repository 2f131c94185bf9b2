/**
 * Uploads of local files: `createUploadSlot` (POST /v1/uploads) hands out a signed, expiring,
 * one-time URL; `receiveUpload` (PUT to that URL) streams the body to disk under the same limits
 * and checks as an import, and gives an asset.
 *
 * The slot is claimed by one conditional update (`open` -> `receiving` while unexpired), so a
 * slot is used at most once even by concurrent PUTs; the token is an HMAC over the slot id, its
 * account and expiry, so it cannot be forged or re-dated.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { nowIso } from '../db/knex.js';
import { DomainError } from '../errors.js';
import { TransferError, writeLimited } from '../net/limited-write.js';
import { StorageUnavailableError } from '../storage/index.js';
import { DiskFullError, isDiskFull } from '../util/disk-full.js';
import { newId } from '../util/ids.js';
import { AssetTooLargeError, assertKind, sniffedType, storeReceivedFile, type Asset, type AssetDeps } from './assets.js';
import { limitsFor, type AssetKind } from './config.js';
import { getUsage, QuotaExceededError, type StorageUsage } from './quota.js';
import { TransferBudget, type StagedTransfer } from './transfers.js';
import { clusterDate, clusterNow } from '../db/cluster-time.js';

const TOKEN_PURPOSE = 'upload-slot:v1';

export interface UploadSlot {
  id: string;
  kind: AssetKind;
  /** PUT the file's bytes here (no API key needed: the URL is the credential). */
  upload_url: string;
  /** The credential in upload_url, on its own (so a client need not parse the URL). */
  token: string;
  method: 'PUT';
  expires_at: string;
  /** The most bytes the PUT may carry (the declared size when one was given). */
  max_bytes: number;
  filename: string | null;
}

interface SlotRow {
  id: string;
  account_id: string;
  kind: AssetKind;
  filename: string | null;
  declared_bytes: number | string | null;
  max_bytes: number | string;
  status: 'open' | 'receiving' | 'completed' | 'failed';
  expires_at: string;
  asset_id: string | null;
}

/** A display name only: never used as a path. Control characters and folders are dropped. */
function cleanFilename(name: string | null | undefined): string | null {
  if (!name) return null;
  // eslint-disable-next-line no-control-regex
  const base = path.basename(name.replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return base ? base.slice(0, 255) : null;
}

function tokenMessage(slotId: string, accountId: string, exp: number): string {
  return `${slotId}\n${accountId}\n${exp}`;
}

class SlotInvalidError extends DomainError {
  constructor() {
    super('upload_token_invalid', 'This upload URL is not valid (unknown slot, or a missing, altered or forged token).', { reason: 'invalid' });
  }
}
class SlotExpiredError extends DomainError {
  constructor(expiresAt: string) {
    super('upload_token_invalid', `This upload URL expired at ${expiresAt}; ask for a new upload slot.`, { reason: 'expired', expired_at: expiresAt });
  }
}
class SlotUsedError extends DomainError {
  constructor(status: string, assetId: string | null) {
    super('upload_completed', 'This upload URL has already been used; each slot takes one upload. Ask for a new slot.', {
      status,
      ...(assetId ? { asset_id: assetId } : {}),
    });
  }
}

/** A body that is not the file the slot was made for: a 400 shaped like any validation error. */
function bodyError(message: string, reason: string, extra: Record<string, unknown> = {}): DomainError {
  return new DomainError('validation_error', message, { reason, ...extra, issues: { body: [{ path: [], message, code: reason }] } });
}

export async function createUploadSlot(
  args: AssetDeps & { accountId: string; kind: AssetKind | string; filename?: string | null; bytes?: number | null; now?: Date },
): Promise<UploadSlot> {
  const { db, storage, accountId } = args;
  const config = args.config ?? {};
  const kind = args.kind;
  assertKind(kind);
  const limits = limitsFor(kind, config);
  const declared = args.bytes ?? null;
  if (declared !== null) {
    if (!Number.isSafeInteger(declared) || declared <= 0) {
      throw new DomainError('validation_error', 'bytes must be a positive integer.', { issues: { body: [{ path: ['bytes'], message: 'must be a positive integer', code: 'invalid_value' }] } });
    }
    if (declared > limits.maxBytes) throw new AssetTooLargeError(kind, limits, { declaredBytes: declared });
    const usage = await getUsage(db, accountId, config);
    if (declared > usage.remainingBytes) throw new QuotaExceededError(declared, usage);
  }
  const now = args.now ?? clusterDate();
  const ttlS = config.uploadSlotTtlS ?? 15 * 60;
  const exp = Math.floor(now.getTime() / 1000) + ttlS;
  const expiresAt = new Date(exp * 1000).toISOString();
  const id = newId('upl');
  const maxBytes = declared ?? limits.maxBytes;
  const filename = cleanFilename(args.filename);
  await db('upload_slots').insert({
    id,
    account_id: accountId,
    kind,
    filename,
    declared_bytes: declared,
    max_bytes: maxBytes,
    status: 'open',
    expires_at: expiresAt,
    created_at: now.toISOString(),
  });
  const token = `${exp}.${storage.sign(TOKEN_PURPOSE, tokenMessage(id, accountId, exp))}`;
  return {
    id,
    kind,
    upload_url: `${storage.publicBaseUrl}/v1/uploads/${id}?token=${token}`,
    token,
    method: 'PUT',
    expires_at: expiresAt,
    max_bytes: maxBytes,
    filename,
  };
}

/**
 * How long an expired slot that never became an asset is kept: a PUT within this time still hears
 * "expired" or "failed"; after it the URL's token is simply unknown (403 upload_token_invalid).
 */
export const EXPIRED_SLOT_KEPT_MS = 60 * 60_000;

/** 'receiving' is left alone: its request may still run (only a crash leaves one behind). */
const SWEPT_STATUSES = ['open', 'failed'];

/**
 * Deletes slots that expired without becoming an asset (never used, refused, cut off) more than
 * EXPIRED_SLOT_KEPT_MS ago, at most `limit` a call; returns how many. Every POST /v1/uploads
 * writes a row, so without this the table grew with every abandoned slot. Completed slots stay
 * (they answer a repeated PUT with the asset they made), as do slots still receiving. Called once a minute by the server.
 */
export async function sweepExpiredSlots(db: AssetDeps['db'], now = clusterNow(), limit = 1000): Promise<number> {
  const before = new Date(now - EXPIRED_SLOT_KEPT_MS).toISOString();
  const ids = await db('upload_slots').where('expires_at', '<', before).whereIn('status', SWEPT_STATUSES).limit(limit).pluck('id');
  if (!ids.length) return 0;
  return db('upload_slots').whereIn('id', ids).whereIn('status', SWEPT_STATUSES).del();
}

/**
 * The PUT to an upload URL. `stream` is the raw request body (not parsed); `contentLength` the
 * request's Content-Length when it sent one. Refuses expired, tampered and reused slots before
 * reading a byte; a refused Content-Length leaves the slot open for a corrected retry; once the
 * body is being read the slot is spent, whatever the outcome, unless our media store failed (the
 * slot opens again). The stream is never destroyed here (on failure it is left paused), so the
 * HTTP layer can still answer; it should answer errors with `Connection: close` rather than read
 * the rest of a refused body.
 */
export async function receiveUpload(
  args: AssetDeps & { slotId: string; token: string | undefined; stream: Readable; contentLength?: number | null; signal?: AbortSignal; now?: Date },
): Promise<Asset> {
  const { db, storage, slotId } = args;
  const config = args.config ?? {};
  const now = args.now ?? clusterDate();
  const m = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(args.token ?? '');
  if (!m) throw new SlotInvalidError();
  const exp = Number(m[1]);
  const slot = (await db('upload_slots').where({ id: slotId }).first()) as SlotRow | undefined;
  if (!slot || !storage.verify(TOKEN_PURPOSE, tokenMessage(slot.id, slot.account_id, exp), m[2]!)) throw new SlotInvalidError();
  const nowText = now.toISOString();
  if (exp * 1000 <= now.getTime() || slot.expires_at <= nowText) throw new SlotExpiredError(slot.expires_at);
  if (slot.status !== 'open') throw new SlotUsedError(slot.status, slot.asset_id);

  const kind = slot.kind;
  const limits = limitsFor(kind, config);
  const slotMax = Number(slot.max_bytes);
  const declared = args.contentLength ?? null;
  if (declared !== null && declared > Math.min(slotMax, limits.maxBytes)) {
    throw new AssetTooLargeError(kind, { ...limits, maxBytes: Math.min(slotMax, limits.maxBytes) }, { declaredBytes: declared });
  }
  const usage = await getUsage(db, slot.account_id, config);
  if (declared !== null && declared > usage.remainingBytes) throw new QuotaExceededError(declared, usage);
  // Before the slot is spent: a 429 for too many transfers at once leaves it open for a retry.
  const transfer = await (args.transfers ?? new TransferBudget(Infinity)).open(slot.account_id, usage);

  try {
    await claimSlot(db, slotId, nowText);
    return await receiveInto(args, slot, usage, transfer);
  } finally {
    await transfer.close();
  }
}

/** The one-time claim of an open, unexpired slot. */
async function claimSlot(db: AssetDeps['db'], slotId: string, nowText: string): Promise<void> {
  const claimed = await db('upload_slots')
    .where({ id: slotId, status: 'open' })
    .andWhere('expires_at', '>', nowText)
    .update({ status: 'receiving', claimed_at: nowIso() });
  if (claimed !== 1) {
    const current = (await db('upload_slots').where({ id: slotId }).first()) as SlotRow;
    if (current.status === 'open') throw new SlotExpiredError(current.expires_at);
    throw new SlotUsedError(current.status, current.asset_id);
  }
}

/** Streams a claimed slot's body to staging under every limit, then stores it as an asset; the slot ends completed or failed. */
async function receiveInto(
  args: AssetDeps & { slotId: string; stream: Readable; signal?: AbortSignal },
  slot: SlotRow, usage: StorageUsage, transfer: StagedTransfer,
): Promise<Asset> {
  const { db, storage, slotId, stream } = args;
  const config = args.config ?? {};
  const kind = slot.kind;
  const limits = limitsFor(kind, config);
  const slotMax = Number(slot.max_bytes);

  try {
    const capBytes = Math.min(slotMax, limits.maxBytes, usage.remainingBytes);
    const staged = storage.stagingPath();
    let written;
    try {
      written = await writeLimited(stream, staged, {
        maxBytes: capBytes, idleTimeoutMs: config.idleTimeoutMs ?? 30_000, signal: args.signal, keepSourceOpen: true,
        admit: transfer.admit, onHead: (head) => { sniffedType(kind, head); },
      });
    } catch (err) {
      if (err instanceof TransferError && err.reason === 'refused') throw err.detail.cause;
      if (err instanceof TransferError && err.reason === 'too_large') {
        if (capBytes < Math.min(slotMax, limits.maxBytes)) throw new QuotaExceededError(err.detail.receivedBytes ?? capBytes + 1, usage);
        throw new AssetTooLargeError(kind, { ...limits, maxBytes: Math.min(slotMax, limits.maxBytes) });
      }
      if (err instanceof TransferError && err.reason === 'idle_timeout') {
        throw bodyError('The upload stalled and was abandoned.', 'idle_timeout');
      }
      if (err instanceof TransferError && err.reason !== 'io_error') {
        throw bodyError('The upload was interrupted before the whole file arrived.', err.reason);
      }
      throw err;
    }
    if (slot.declared_bytes !== null && written.bytes !== Number(slot.declared_bytes)) {
      await fs.promises.rm(written.path, { force: true });
      throw bodyError(`The slot was created for ${slot.declared_bytes} bytes but ${written.bytes} arrived.`, 'size_mismatch', {
        declared_bytes: Number(slot.declared_bytes), received_bytes: written.bytes,
      });
    }
    return await storeReceivedFile(
      { db, storage, config },
      {
        accountId: slot.account_id,
        kind,
        stagedPath: written.path,
        head: written.head,
        bytes: written.bytes,
        sha256: written.sha256,
        source: 'upload',
        filename: slot.filename,
        inTransaction: async (trx, assetId) => {
          await trx('upload_slots').where({ id: slotId, status: 'receiving' }).update({ status: 'completed', asset_id: assetId, finished_at: nowIso() });
        },
      },
    );
  } catch (err) {
    // Our store failing, or our disk filling up, is not the client's doing: the slot opens again,
    // so the same URL can be sent again once the store is back or space is freed (nothing was
    // recorded, so nothing can be stored twice; writeLimited removed the staged file).
    const full = isDiskFull(err);
    const next = err instanceof StorageUnavailableError || full
      ? { status: 'open', claimed_at: null }
      : { status: 'failed', error_code: err instanceof DomainError ? err.code : 'internal_error', finished_at: nowIso() };
    await db('upload_slots').where({ id: slotId, status: 'receiving' }).update(next);
    throw full ? new DiskFullError(err) : err;
  }
}
