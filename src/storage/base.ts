/**
 * What every storage driver shares: keys (`<account>/<name>`), the signing secret (file links,
 * upload slots), the local scratch folder and its sweeps. A driver decides where the bytes live
 * (src/storage/storage.ts: a local directory; src/storage/s3.ts: an S3-compatible bucket) and what
 * a signed download link looks like.
 */
import crypto from 'node:crypto';
import { Sightings } from '@lavendly/framework';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { hmac, purposeKey, sameSignature } from './secret.js';
import { clusterDate } from '../db/cluster-time.js';

export interface StorageOptions {
  dataDir: string;
  /** Public base URL of the server (no trailing slash needed), e.g. `http://localhost:8090`. */
  publicBaseUrl: string;
  /** The signing secret (see secret.ts). */
  secret: Buffer;
  /** Lifetime of a signed URL when none is asked for (default 1 hour). */
  defaultUrlTtlS?: number;
}

export type SignedUrlCheck =
  | { ok: true; key: string; expiresAt: Date }
  | { ok: false; reason: 'malformed' | 'invalid_signature' | 'expired'; key?: string };

/** A key segment: letters, digits, `_`, `-`, `.`, never starting with a dot (no `..`, no hidden files). */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$/;
/** Longest signed URL lifetime: links are meant to be short-lived. */
const MAX_URL_TTL_S = 7 * 24 * 3600;
/** The temporary sibling of an atomic write (src/media/files.ts, src/net/limited-write.ts, src/publish/local.ts). */
const PARTIAL = /^\..+\.partial-[0-9a-f]+(\.[A-Za-z0-9]+)?$/;

export function isValidKey(key: string): boolean {
  const parts = key.split('/');
  return parts.length >= 2 && parts.length <= 8 && parts.every((p) => SEGMENT.test(p));
}

/** What `stat` answers for a stored file. */
export interface StoredFile {
  size: number;
  mtime: Date;
  mtimeMs: number;
}

/** A file of the store on the local disk for tools that need a path (ffmpeg); `release` when done. */
export interface LocalFile {
  path: string;
  release(): Promise<void>;
}

/** Reading a key that holds no file. */
export class FileMissingError extends Error {
  readonly code = 'file_missing';
  constructor(readonly key: string) {
    super(`No stored file under the key ${key}.`);
    this.name = 'FileMissingError';
  }
}

export abstract class Storage {
  /** `local` (a directory) or `s3` (an S3-compatible bucket). */
  abstract readonly driver: 'local' | 's3';
  readonly dataDir: string;
  /** `<dataDir>/files`: the local driver's files, and (in `.staging`) every driver's scratch files. */
  readonly root: string;
  readonly publicBaseUrl: string;
  readonly defaultUrlTtlS: number;
  private readonly fileKey: Buffer;
  private readonly secret: Buffer;

  constructor(options: StorageOptions) {
    this.dataDir = path.resolve(options.dataDir);
    this.root = path.resolve(options.dataDir, 'files');
    this.publicBaseUrl = options.publicBaseUrl.replace(/\/+$/, '');
    this.defaultUrlTtlS = options.defaultUrlTtlS ?? 3600;
    this.secret = options.secret;
    this.fileKey = purposeKey(options.secret, 'file-url:v1');
  }

  /** Size and modification time of the file under `key`, or null when there is none. */
  abstract stat(key: string): Promise<StoredFile | null>;
  /** Stores the finished local file `fromPath` under `key` (whole or not at all) and removes `fromPath`. */
  abstract moveIn(fromPath: string, key: string): Promise<void>;
  /** The bytes of `key` (`start`..`end` inclusive when given); FileMissingError when absent. */
  abstract read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  abstract remove(key: string): Promise<void>;
  /** Removes a key's file and everything under it as a folder (`<account>/<workflow>`). */
  abstract removeTree(key: string): Promise<void>;
  /** Keys under a folder key (`<account>/renders`), sorted. */
  abstract list(prefix: string): Promise<string[]>;
  /** A link anyone may GET (ranges included) until it expires. */
  abstract signedUrlWithExpiry(key: string, options?: { expiresInS?: number; now?: Date }): { url: string; expiresAt: Date };
  /** The file under `key` as a local path (the file itself, or a scratch copy); FileMissingError when absent. */
  abstract localCopy(key: string): Promise<LocalFile>;
  /**
   * Runs `write` with a local path to write the file of `key` to (same extension), then stores
   * it. Nothing is stored when `write` throws.
   */
  abstract produce<T>(key: string, write: (outPath: string) => Promise<T>): Promise<T>;

  signedUrl(key: string, options: { expiresInS?: number; now?: Date } = {}): string {
    return this.signedUrlWithExpiry(key, options).url;
  }

  /** The key for `name` in an account's folder. */
  keyFor(accountId: string, name: string): string {
    const key = `${accountId}/${name}`;
    if (!isValidKey(key)) throw new Error(`invalid file key: ${key}`);
    return key;
  }

  /**
   * A fresh path in the staging folder (same file system as the local driver's files, so a rename
   * moves a file into place atomically). The folder starts with a dot: no key can address it.
   */
  stagingPath(): string {
    return path.join(this.root, '.staging', crypto.randomBytes(12).toString('hex'));
  }

  /** A new empty scratch folder under staging (swept like any staged file if a crash leaves it). */
  async scratchDir(): Promise<string> {
    const dir = this.stagingPath();
    await fs.promises.mkdir(dir, { recursive: true });
    return dir;
  }

  /**
   * Deletes what crashed transfers left in the staging folder. A live upload or import writes to
   * its file, which keeps its mtime fresh, so anything untouched for `olderThanMs` (default 6 h)
   * is abandoned; and, since a step of the machine's clock makes every file look that old at once,
   * only once this process has also seen it unchanged for `confirmMs` (sweepUnchanged below).
   * A file is seen on every sweep, so in a process that keeps sweeping the wait adds at most one
   * sweep interval. Answers how many files went.
   */
  async sweepStaging(olderThanMs = 6 * 3600_000, now = Date.now(), confirmMs = olderThanMs): Promise<number> {
    const dir = path.join(this.root, '.staging');
    const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
    return sweepUnchanged(sightingsOf('staging', dir), names.map((name) => path.join(dir, name)), olderThanMs, now, confirmMs, true);
  }

  /**
   * Deletes the temporary files of writes that never finished: `.<name>.partial-<hex>[.ext]`
   * anywhere under the data dir (renders, frames, clips, transfers, local publications), left
   * when the process writing them was killed. A live write keeps its file's mtime fresh (and
   * ffmpeg is killed after 10 minutes), so one untouched for `olderThanMs` (default 15 min), and
   * seen unchanged by this process for `confirmMs` (as sweepStaging), is abandoned. Answers how
   * many files went.
   */
  async sweepPartials(olderThanMs = 15 * 60_000, now = Date.now(), confirmMs = olderThanMs): Promise<number> {
    const names = await fs.promises.readdir(this.dataDir, { recursive: true }).catch(() => [] as string[]);
    const files = names.filter((name) => PARTIAL.test(path.basename(name))).map((name) => path.join(this.dataDir, name));
    return sweepUnchanged(sightingsOf('partials', this.dataDir), files, olderThanMs, now, confirmMs, false);
  }

  /** Lifetime of a link asked for `expiresInS`, within 1 s .. MAX_URL_TTL_S. */
  protected ttlOf(expiresInS: number | undefined): number {
    return Math.min(Math.max(1, Math.floor(expiresInS ?? this.defaultUrlTtlS)), MAX_URL_TTL_S);
  }

  private fileSignature(key: string, exp: number): string {
    return hmac(this.fileKey, `${key}\n${exp}`);
  }

  /** `${publicBaseUrl}/files/<key>?exp=..&sig=..`: a link the API itself serves (src/storage/serve.ts). */
  apiSignedUrl(key: string, options: { expiresInS?: number; now?: Date } = {}): { url: string; expiresAt: Date } {
    if (!isValidKey(key)) throw new Error(`invalid file key: ${key}`);
    const exp = Math.floor((options.now ?? clusterDate()).getTime() / 1000) + this.ttlOf(options.expiresInS);
    const sig = this.fileSignature(key, exp);
    const encoded = key.split('/').map(encodeURIComponent).join('/');
    return { url: `${this.publicBaseUrl}/files/${encoded}?exp=${exp}&sig=${sig}`, expiresAt: new Date(exp * 1000) };
  }

  /** Check a link made by apiSignedUrl, given whole or as its key, exp and sig. */
  verifySignedUrl(input: string | URL | { key: string; exp: string | number | undefined; sig: string | undefined }, now: Date = clusterDate()): SignedUrlCheck {
    let key: string;
    let exp: string;
    let sig: string;
    if (typeof input === 'string' || input instanceof URL) {
      let url: URL;
      try {
        url = new URL(String(input), this.publicBaseUrl);
      } catch {
        return { ok: false, reason: 'malformed' };
      }
      // Under the public URL's own path (a server behind `https://host/video api`), as apiSignedUrl makes them.
      const files = `${new URL(this.publicBaseUrl).pathname.replace(/\/+$/, '')}/files/`;
      if (!url.pathname.startsWith(files) || url.pathname.length === files.length) return { ok: false, reason: 'malformed' };
      try {
        key = url.pathname.slice(files.length).split('/').map(decodeURIComponent).join('/');
      } catch {
        return { ok: false, reason: 'malformed' };
      }
      exp = url.searchParams.get('exp') ?? '';
      sig = url.searchParams.get('sig') ?? '';
    } else {
      key = input.key;
      exp = String(input.exp ?? '');
      sig = input.sig ?? '';
    }
    if (!isValidKey(key) || !/^\d{1,12}$/.test(exp) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return { ok: false, reason: 'malformed', key };
    // Signature first: a forged or edited expiry is a bad signature, not an expired link.
    if (!sameSignature(this.fileSignature(key, Number(exp)), sig)) return { ok: false, reason: 'invalid_signature', key };
    if (Number(exp) * 1000 <= now.getTime()) return { ok: false, reason: 'expired', key };
    return { ok: true, key, expiresAt: new Date(Number(exp) * 1000) };
  }

  /** HMAC over `message` with a key derived for `purpose` (upload slots and the like). */
  sign(purpose: string, message: string): string {
    return hmac(purposeKey(this.secret, purpose), message);
  }

  verify(purpose: string, message: string, signature: string): boolean {
    return sameSignature(this.sign(purpose, message), signature);
  }
}

/** Per sweep and folder, kept across the Storage instances of this process; each sweep passes
 *  its own wait. */
const sweeps = new Map<string, Sightings>();

function sightingsOf(sweep: string, dir: string): Sightings {
  const key = `${sweep}\n${dir}`;
  let s = sweeps.get(key);
  if (!s) sweeps.set(key, (s = new Sightings()));
  return s;
}

/**
 * Removes those of `files` older than `olderThanMs` by mtime and seen unchanged (size and mtime)
 * for `confirmMs`. Age by mtime alone is not enough: the machine's clock stepping forward makes
 * every live write's file look abandoned at once. A live writer changes its file; one seen
 * unchanged for the whole wait on the monotonic clock, which no step moves, has none.
 */
async function sweepUnchanged(
  sightings: Sightings, files: string[], olderThanMs: number, now: number, confirmMs: number, anyKind: boolean,
): Promise<number> {
  let removed = 0;
  for (const file of files) {
    const s = await fs.promises.lstat(file).catch(() => null);
    if (!s || (!anyKind && !s.isFile())) continue;
    // Every file is noted, young ones too, so a file's wait starts when this process first saw it.
    if (!sightings.confirmed(file, `${s.size}:${s.mtimeMs}`, confirmMs) || now - s.mtimeMs < olderThanMs) continue;
    await fs.promises.rm(file, { force: true, recursive: anyKind });
    removed++;
  }
  // Files no longer there (deleted, or renamed into place) are forgotten.
  sightings.keepOnly(new Set(files));
  return removed;
}
