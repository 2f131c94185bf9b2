/**
 * Assets: media brought in from outside, by URL (`importAsset`) or by upload (uploads.ts), under
 * the app uploader's limits: size while streaming, duration by probing, the account's storage
 * quota in SQL, and the real type sniffed from the bytes. The file lands in storage only once
 * every check passed; any failure leaves no file behind.
 */
import fs from 'node:fs';
import type { Knex } from 'knex';
import { nowIso } from '../db/knex.js';
import { DomainError, NotFoundError, ValidationError } from '../errors.js';
import { AddressNotAllowedError } from '../net/address-policy.js';
import { SafeFetchError, safeDownload } from '../net/safe-fetch.js';
import { sniff, type MediaFamily } from '../net/sniff.js';
import type { Storage } from '../storage/index.js';
import { newId } from '../util/ids.js';
import { isAssetKind, limitsFor, type AssetKind, type AssetsConfig, type KindLimits } from './config.js';
import { acceptedFormats, checkAudio, checkImageHeader, shownSize } from './media-checks.js';
import { ffprobe, ProbeError, type AssetProbe } from './probe.js';
import { getUsage, QuotaExceededError, reserveBytes, releaseBytes } from './quota.js';
import { TransferBudget } from './transfers.js';

export interface Asset {
  id: string;
  kind: AssetKind;
  /** Signed, expiring URL of the file. */
  url: string;
  url_expires_at: string;
  /** Sniffed from the bytes, never taken from the sender. */
  content_type: string;
  bytes: number;
  duration_s: number | null;
  width: number | null;
  height: number | null;
  source: 'url' | 'upload';
  source_url: string | null;
  filename: string | null;
  sha256: string;
  created_at: string;
}

interface AssetRow {
  id: string;
  account_id: string;
  kind: AssetKind;
  source: 'url' | 'upload';
  source_url: string | null;
  filename: string | null;
  file_key: string;
  bytes: number | string;
  content_type: string;
  sha256: string;
  duration_s: number | null;
  width: number | null;
  height: number | null;
  created_at: string;
}

export interface AssetDeps {
  db: Knex;
  storage: Storage;
  config?: AssetsConfig;
  /** The process's count of transfers arriving per account (default: none shared, no concurrency cap). */
  transfers?: TransferBudget;
}

function assetFromRow(row: AssetRow, storage: Storage, config: AssetsConfig = {}): Asset {
  const signed = storage.signedUrlWithExpiry(row.file_key, { expiresInS: config.urlTtlS });
  return {
    id: row.id,
    kind: row.kind,
    url: signed.url,
    url_expires_at: signed.expiresAt.toISOString(),
    content_type: row.content_type,
    bytes: Number(row.bytes),
    duration_s: row.duration_s === null ? null : Number(row.duration_s),
    width: row.width === null ? null : Number(row.width),
    height: row.height === null ? null : Number(row.height),
    source: row.source,
    source_url: row.source_url,
    filename: row.filename,
    sha256: row.sha256,
    created_at: row.created_at,
  };
}

/** Which stream family an asset kind must carry. */
function familyOf(kind: AssetKind): MediaFamily {
  return kind === 'image' ? 'image' : kind === 'video' ? 'video' : 'audio';
}

export function assertKind(kind: unknown): asserts kind is AssetKind {
  if (!isAssetKind(kind)) {
    throw new ValidationError({ body: [{ path: ['kind'], message: 'kind must be one of image, video, music, voice, sfx', code: 'invalid_value' }] });
  }
}

const article = (word: string) => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`);

export class AssetTooLargeError extends DomainError {
  constructor(kind: AssetKind, limits: KindLimits, got?: { declaredBytes?: number; receivedBytes?: number }) {
    const mb = Math.round((limits.maxBytes / (1024 * 1024)) * 10) / 10;
    super('asset_too_large', `${article(kind).replace(/^a/, 'A')} may be at most ${mb} MB (${limits.maxBytes} bytes); this file is larger.`, {
      kind,
      limit: limits.maxBytes,
      ...(got?.declaredBytes !== undefined ? { declared_bytes: got.declaredBytes } : {}),
    });
  }
}

class AssetTooLongError extends DomainError {
  constructor(kind: AssetKind, maxDurationS: number, durationS: number) {
    super('duration_too_long', `${article(kind).replace(/^a/, 'A')} may be at most ${maxDurationS / 60} min long; this one lasts ${Math.round(durationS * 10) / 10} s.`, {
      kind,
      limit: maxDurationS,
      duration_s: Math.round(durationS * 1000) / 1000,
    });
  }
}

function mismatch(kind: AssetKind, detected: string, what: string): DomainError {
  return new DomainError('unsupported_media_type', `${article(kind).replace(/^a/, 'A')} asset must be ${article(familyOf(kind))} file, but this is ${what} (${detected}).`, {
    kind,
    expected: familyOf(kind),
    detected_type: detected,
  });
}

/**
 * The file's real type, from its first bytes, if it is one the kind accepts; else throws
 * unsupported_media_type. Run on the first bytes while a transfer still arrives (so a wrong file
 * is refused at once) and again on the whole file's head.
 */
export function sniffedType(kind: AssetKind, head: Buffer): NonNullable<ReturnType<typeof sniff>> {
  const type = sniff(head);
  if (!type) {
    throw new DomainError('unsupported_media_type', `This is not a supported ${familyOf(kind)} file (accepted: ${acceptedFormats(familyOf(kind))}).`, {
      kind,
      expected: familyOf(kind),
    });
  }
  if (!type.families.includes(familyOf(kind))) throw mismatch(kind, type.mime, `${type.families[0] === 'image' ? 'an image' : type.families[0] === 'audio' ? 'an audio file' : 'a video'}`);
  return type;
}

/**
 * The checks common to imports and uploads, on a file fully received at `stagedPath`: type by
 * sniffing, streams and duration by probing, then the quota in SQL together with the asset row.
 * The file is moved into the account's folder only when everything passed; the staged file is
 * always gone afterwards.
 */
export async function storeReceivedFile(
  deps: AssetDeps,
  input: {
    accountId: string;
    kind: AssetKind;
    stagedPath: string;
    head: Buffer;
    bytes: number;
    sha256: string;
    source: 'url' | 'upload';
    sourceUrl?: string | null;
    filename?: string | null;
    /** Runs inside the transaction that creates the asset (e.g. to complete an upload slot). */
    inTransaction?: (trx: Knex.Transaction, assetId: string) => Promise<void>;
  },
): Promise<Asset> {
  const { db, storage } = deps;
  const config = deps.config ?? {};
  const { kind, accountId } = input;
  const limits = limitsFor(kind, config);
  let movedKey: string | null = null;
  try {
    if (input.bytes > limits.maxBytes) throw new AssetTooLargeError(kind, limits);
    const type = sniffedType(kind, input.head);
    const family = familyOf(kind);
    // Before ffprobe decodes anything: an image's header says how big and how animated it is.
    const header = family === 'image' ? await checkImageHeader(kind, input.stagedPath, type.mime, config.maxImagePixels) : null;

    let probe: AssetProbe;
    try {
      probe = await (config.probe ?? ffprobe)(input.stagedPath);
    } catch (err) {
      if (!(err instanceof ProbeError)) throw err; // the prober failed, not the file: internal
      throw new DomainError('unsupported_media_type', `The file looks like ${type.mime} but cannot be read as media (damaged or truncated).`, { kind, detected_type: type.mime, reason: 'unreadable_media' });
    }
    if (family === 'video' && !probe.hasVideo) throw mismatch(kind, type.mime, 'a file without a video stream');
    if (family === 'audio' && !probe.hasAudio) throw mismatch(kind, type.mime, 'a file without an audio stream');
    if (family === 'audio' && probe.hasVideo) throw mismatch(kind, type.mime, 'a video');
    if (family === 'audio') checkAudio(kind, type.mime, probe);
    if (family === 'image' && (!probe.width || !probe.height)) {
      throw new DomainError('unsupported_media_type', `The file looks like ${type.mime} but has no readable picture (damaged or truncated).`, { kind, detected_type: type.mime, reason: 'unreadable_media' });
    }
    const durationS = family === 'image' ? null : probe.durationS;
    if (limits.maxDurationS !== null && family !== 'image') {
      if (durationS === null) {
        throw new DomainError('unsupported_media_type', 'The media duration cannot be determined, so its length limit cannot be checked.', { kind, detected_type: type.mime, reason: 'unknown_duration' });
      }
      if (durationS > limits.maxDurationS) throw new AssetTooLongError(kind, limits.maxDurationS, durationS);
    }

    const id = newId('ast');
    const key = storage.keyFor(accountId, `${id}.${type.ext}`);
    await storage.moveIn(input.stagedPath, key);
    movedKey = key;
    const row: AssetRow = {
      id,
      account_id: accountId,
      kind,
      source: input.source,
      source_url: input.sourceUrl ?? null,
      filename: input.filename ?? null,
      file_key: key,
      bytes: input.bytes,
      content_type: type.mime,
      sha256: input.sha256,
      duration_s: durationS === null ? null : Math.round(durationS * 1000) / 1000,
      ...(family === 'audio' ? { width: null, height: null } : shownSize(probe, header)),
      created_at: nowIso(),
    };
    await db.transaction(async (trx) => {
      await reserveBytes(trx, accountId, input.bytes, config);
      await trx('assets').insert(row);
      await input.inTransaction?.(trx, id);
    });
    movedKey = null; // committed: the file now belongs to the asset
    return assetFromRow(row, storage, config);
  } finally {
    await fs.promises.rm(input.stagedPath, { force: true });
    if (movedKey) await storage.remove(movedKey).catch(() => {});
  }
}

/** Turns a transfer failure into what the client is told. */
function importErrorFrom(err: SafeFetchError, kind: AssetKind, limits: KindLimits, capBytes: number, usage: { remainingBytes: number; quotaBytes: number; usedBytes: number }): DomainError | null {
  const upstream = (message: string, reason: string, extra: Record<string, unknown> = {}) =>
    new DomainError('source_unreachable', message, { reason, ...extra });
  switch (err.reason) {
    case 'url_not_allowed': {
      const reason = err.cause instanceof AddressNotAllowedError ? err.cause.reason : 'address_not_allowed';
      const messages: Record<AddressNotAllowedError['reason'], string> = {
        invalid_url: 'The URL is not valid.',
        scheme_not_allowed: 'Only http and https URLs can be imported.',
        credentials_not_allowed: 'URLs with a user name or password cannot be imported.',
        hostname_not_allowed: 'This URL names a local host and cannot be imported.',
        port_not_allowed: 'This URL names port 0, which cannot be contacted.',
        // Deliberately vague about where a name pointed: answers must not map internal DNS.
        address_not_allowed: 'This URL points to a local, private or reserved address (directly, through DNS or through a redirect) and cannot be imported.',
      };
      return new DomainError('url_not_allowed', messages[reason], { reason });
    }
    case 'too_large': {
      const size = err.detail.declaredBytes ?? err.detail.receivedBytes ?? capBytes + 1;
      if (size > limits.maxBytes || capBytes >= limits.maxBytes) {
        return new AssetTooLargeError(kind, limits, { declaredBytes: err.detail.declaredBytes });
      }
      return new DomainError(
        'storage_quota_exceeded',
        `This file is larger than the ${usage.remainingBytes} bytes left of the account's ${usage.quotaBytes}-byte storage quota.`,
        { limit: usage.quotaBytes, needed_bytes: err.detail.declaredBytes ?? null, used_bytes: usage.usedBytes, quota_bytes: usage.quotaBytes, remaining_bytes: usage.remainingBytes },
      );
    }
    case 'timeout':
    case 'idle_timeout':
      return upstream('The remote server was too slow to send the file.', err.reason);
    case 'http_status':
      return upstream(`The remote server answered ${err.detail.status}.`, 'http_status', { upstream_status: err.detail.status });
    case 'dns_failed':
      return upstream('The URL\'s host name could not be resolved.', 'dns_failed');
    case 'too_many_redirects':
      return upstream('The URL redirects too many times.', 'too_many_redirects');
    case 'bad_redirect':
      return upstream('The URL redirects to an invalid location.', 'bad_redirect');
    case 'network':
    case 'aborted':
      return upstream('The file could not be downloaded from the remote server.', err.reason);
    default:
      return null; // io_error: ours, an internal error
  }
}

/**
 * `import_asset`: download `url` as an asset of `kind` for the account. Throws DomainError for
 * every refusal (url_not_allowed, source_unreachable, asset_too_large, duration_too_long,
 * storage_quota_exceeded, unsupported_media_type, validation_error).
 */
export async function importAsset(
  args: AssetDeps & {
    accountId: string; url: string; kind: AssetKind | string; signal?: AbortSignal;
    /** Also run in the transaction that records the asset, with its id (a caller's record of it). */
    recordIn?: (trx: Knex.Transaction, assetId: string) => Promise<void>;
  },
): Promise<Asset> {
  const { db, storage, accountId, url } = args;
  const config = args.config ?? {};
  const kind = args.kind;
  assertKind(kind);
  const limits = limitsFor(kind, config);
  const usage = await getUsage(db, accountId, config);
  if (usage.remainingBytes <= 0) throw new QuotaExceededError(1, usage);
  // Stop streaming at whichever comes first: the kind's size limit or what the quota has left.
  const capBytes = Math.min(limits.maxBytes, usage.remainingBytes);
  const transfer = await (args.transfers ?? new TransferBudget(Infinity)).open(accountId, usage);
  try {
    const staged = storage.stagingPath();
    let downloaded;
    try {
      downloaded = await safeDownload(url, {
        destPath: staged,
        maxBytes: capBytes,
        allowedPolicy: config.addressPolicy,
        resolve: config.resolve,
        timeoutMs: config.fetchTimeoutMs ?? 10 * 60_000,
        idleTimeoutMs: config.idleTimeoutMs ?? 30_000,
        signal: args.signal,
        admit: transfer.admit,
        onHead: (head) => { sniffedType(kind, head); },
      });
    } catch (err) {
      await fs.promises.rm(staged, { force: true });
      if (err instanceof SafeFetchError) {
        const apiError = importErrorFrom(err, kind, limits, capBytes, usage);
        if (apiError) throw apiError;
      }
      throw err;
    }
    return await storeReceivedFile(
      { db, storage, config },
      {
        accountId,
        kind,
        stagedPath: downloaded.path,
        head: downloaded.head,
        bytes: downloaded.bytes,
        sha256: downloaded.sha256,
        source: 'url',
        sourceUrl: url,
        inTransaction: args.recordIn,
      },
    );
  } finally {
    await transfer.close();
  }
}

/** One asset of the account (another account's id answers 404). */
export async function getAsset(args: AssetDeps & { accountId: string; id: string }): Promise<Asset> {
  const row = (await args.db('assets').where({ id: args.id, account_id: args.accountId }).first()) as AssetRow | undefined;
  if (!row) throw new NotFoundError('asset', args.id);
  return assetFromRow(row, args.storage, args.config);
}

/** Deletes an asset, its file, and gives its bytes back to the quota. */
export async function deleteAsset(args: AssetDeps & { accountId: string; id: string }): Promise<void> {
  const { db, storage, accountId, id } = args;
  const key = await db.transaction(async (trx) => {
    const row = (await trx('assets').where({ id, account_id: accountId }).first()) as AssetRow | undefined;
    if (!row) throw new NotFoundError('asset', id);
    const deleted = await trx('assets').where({ id, account_id: accountId }).delete();
    if (deleted === 1) await releaseBytes(trx, accountId, Number(row.bytes));
    return row.file_key;
  });
  await storage.remove(key);
}
