/**
 * Files under `<dataDir>/files/<account>/...`, addressed by a key (`<account>/<name>`), served
 * only through signed, expiring URLs: `${publicBaseUrl}/files/<key>?exp=<unix s>&sig=<hmac>`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { hmac, loadSigningSecret, purposeKey, sameSignature } from './secret.js';

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
export const MAX_URL_TTL_S = 7 * 24 * 3600;
/** The temporary sibling of an atomic write (src/media/files.ts, src/net/limited-write.ts, src/publish/local.ts). */
const PARTIAL = /^\..+\.partial-[0-9a-f]+(\.[A-Za-z0-9]+)?$/;

export function isValidKey(key: string): boolean {
  const parts = key.split('/');
  return parts.length >= 2 && parts.length <= 8 && parts.every((p) => SEGMENT.test(p));
}

export class FileStorage {
  readonly dataDir: string;
  /** `<dataDir>/files` */
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

  /** Storage for a data dir, loading (or creating) the signing secret. */
  static async open(config: { dataDir: string; publicBaseUrl: string; signingSecret: string | null; defaultUrlTtlS?: number }): Promise<FileStorage> {
    const secret = await loadSigningSecret(config);
    return new FileStorage({ dataDir: config.dataDir, publicBaseUrl: config.publicBaseUrl, secret, defaultUrlTtlS: config.defaultUrlTtlS });
  }

  /** The key for `name` in an account's folder. */
  keyFor(accountId: string, name: string): string {
    const key = `${accountId}/${name}`;
    if (!isValidKey(key)) throw new Error(`invalid file key: ${key}`);
    return key;
  }

  /** Absolute path of a key; throws on anything that is not a well-formed key inside the root. */
  pathFor(key: string): string {
    if (!isValidKey(key)) throw new Error(`invalid file key: ${key}`);
    const full = path.resolve(this.root, ...key.split('/'));
    if (!full.startsWith(this.root + path.sep)) throw new Error(`invalid file key: ${key}`);
    return full;
  }

  /**
   * A fresh path in the staging folder (same file system as the files, so a rename moves a file
   * into place atomically). The folder starts with a dot: no key can address it.
   */
  stagingPath(): string {
    return path.join(this.root, '.staging', crypto.randomBytes(12).toString('hex'));
  }

  /**
   * Deletes what crashed transfers left in the staging folder. A live upload or import writes to
   * its file, which keeps its mtime fresh, so anything untouched for `olderThanMs` (default 6 h)
   * is abandoned. Answers how many files went.
   */
  async sweepStaging(olderThanMs = 6 * 3600_000, now = Date.now()): Promise<number> {
    const dir = path.join(this.root, '.staging');
    const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      const file = path.join(dir, name);
      const s = await fs.promises.stat(file).catch(() => null);
      if (!s || now - s.mtimeMs < olderThanMs) continue;
      await fs.promises.rm(file, { force: true, recursive: true });
      removed++;
    }
    return removed;
  }

  /**
   * Deletes the temporary files of writes that never finished: `.<name>.partial-<hex>[.ext]`
   * anywhere under the data dir (renders, frames, clips, transfers, local publications), left
   * when the process writing them was killed. A live write keeps its file's mtime fresh (and
   * ffmpeg is killed after 10 minutes), so one untouched for `olderThanMs` (default 15 min) is
   * abandoned. Answers how many files went.
   */
  async sweepPartials(olderThanMs = 15 * 60_000, now = Date.now()): Promise<number> {
    const names = await fs.promises.readdir(this.dataDir, { recursive: true }).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      if (!PARTIAL.test(path.basename(name))) continue;
      const file = path.join(this.dataDir, name);
      const s = await fs.promises.lstat(file).catch(() => null);
      if (!s || !s.isFile() || now - s.mtimeMs < olderThanMs) continue;
      await fs.promises.rm(file, { force: true });
      removed++;
    }
    return removed;
  }

  /** Move a finished file (e.g. a staging path) to `key`, atomically. */
  async moveIn(fromPath: string, key: string): Promise<string> {
    const dest = this.pathFor(key);
    await fs.promises.mkdir(path.dirname(dest), { recursive: true });
    await fs.promises.rename(fromPath, dest);
    return dest;
  }

  async remove(key: string): Promise<void> {
    await fs.promises.rm(this.pathFor(key), { force: true });
  }

  /** Removes a key's file or, when the key names a folder (`<account>/<workflow>`), all under it. */
  async removeTree(key: string): Promise<void> {
    await fs.promises.rm(this.pathFor(key), { force: true, recursive: true });
  }

  async stat(key: string): Promise<fs.Stats | null> {
    try {
      const s = await fs.promises.stat(this.pathFor(key));
      return s.isFile() ? s : null;
    } catch {
      return null;
    }
  }

  private fileSignature(key: string, exp: number): string {
    return hmac(this.fileKey, `${key}\n${exp}`);
  }

  /** `${publicBaseUrl}/files/<key>?exp=..&sig=..`, valid for `expiresInS` seconds. */
  signedUrl(key: string, options: { expiresInS?: number; now?: Date } = {}): string {
    return this.signedUrlWithExpiry(key, options).url;
  }

  signedUrlWithExpiry(key: string, options: { expiresInS?: number; now?: Date } = {}): { url: string; expiresAt: Date } {
    if (!isValidKey(key)) throw new Error(`invalid file key: ${key}`);
    const ttl = Math.min(Math.max(1, Math.floor(options.expiresInS ?? this.defaultUrlTtlS)), MAX_URL_TTL_S);
    const exp = Math.floor((options.now ?? new Date()).getTime() / 1000) + ttl;
    const sig = this.fileSignature(key, exp);
    const encoded = key.split('/').map(encodeURIComponent).join('/');
    return { url: `${this.publicBaseUrl}/files/${encoded}?exp=${exp}&sig=${sig}`, expiresAt: new Date(exp * 1000) };
  }

  /** Check a signed file URL, given whole or as its key, exp and sig. */
  verifySignedUrl(input: string | URL | { key: string; exp: string | number | undefined; sig: string | undefined }, now: Date = new Date()): SignedUrlCheck {
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
      const m = /^\/files\/(.+)$/.exec(url.pathname);
      if (!m) return { ok: false, reason: 'malformed' };
      try {
        key = m[1]!.split('/').map(decodeURIComponent).join('/');
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
