/**
 * The local driver (the default): files under `<dataDir>/files/<account>/...`, addressed by a key
 * (`<account>/<name>`), served by the API itself through signed, expiring URLs:
 * `${publicBaseUrl}/files/<key>?exp=<unix s>&sig=<hmac>` (src/storage/serve.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { isValidKey, FileMissingError, Storage, type LocalFile, type StorageOptions, type StoredFile } from './base.js';
import { loadSigningSecret } from './secret.js';

export type { StorageOptions } from './base.js';

export class FileStorage extends Storage {
  readonly driver = 'local' as const;

  /** Storage for a data dir, loading (or creating) the signing secret. */
  static async open(config: { dataDir: string; publicBaseUrl: string; signingSecret: string | null; defaultUrlTtlS?: number }): Promise<FileStorage> {
    const secret = await loadSigningSecret(config);
    return new FileStorage({ dataDir: config.dataDir, publicBaseUrl: config.publicBaseUrl, secret, defaultUrlTtlS: config.defaultUrlTtlS });
  }

  constructor(options: StorageOptions) {
    super(options);
  }

  /** Absolute path of a key; throws on anything that is not a well-formed key inside the root. */
  pathFor(key: string): string {
    if (!isValidKey(key)) throw new Error(`invalid file key: ${key}`);
    const full = path.resolve(this.root, ...key.split('/'));
    if (!full.startsWith(this.root + path.sep)) throw new Error(`invalid file key: ${key}`);
    return full;
  }

  /** Move a finished file (e.g. a staging path) to `key`, atomically. */
  async moveIn(fromPath: string, key: string): Promise<void> {
    const dest = this.pathFor(key);
    await fs.promises.mkdir(path.dirname(dest), { recursive: true });
    await fs.promises.rename(fromPath, dest);
  }

  async remove(key: string): Promise<void> {
    await fs.promises.rm(this.pathFor(key), { force: true });
  }

  async removeTree(key: string): Promise<void> {
    await fs.promises.rm(this.pathFor(key), { force: true, recursive: true });
  }

  async stat(key: string): Promise<StoredFile | null> {
    const file = this.pathFor(key);
    try {
      const s = await fs.promises.stat(file);
      return s.isFile() ? s : null;
    } catch {
      return null;
    }
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const file = this.pathFor(key);
    // Opened before the stream is handed out, so a missing file is an error here, not mid-response.
    const handle = await fs.promises.open(file, 'r').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' || err.code === 'EISDIR' ? new FileMissingError(key) : err;
    });
    if ((await handle.stat()).isDirectory()) {
      await handle.close();
      throw new FileMissingError(key);
    }
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async list(prefix: string): Promise<string[]> {
    const dir = this.pathFor(prefix);
    const names = await fs.promises.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    return names
      .filter((d) => d.isFile() && !d.name.startsWith('.'))
      .map((d) => `${prefix}/${path.relative(dir, path.join(d.parentPath, d.name)).split(path.sep).join('/')}`)
      .filter(isValidKey)
      .sort();
  }

  signedUrlWithExpiry(key: string, options: { expiresInS?: number; now?: Date } = {}): { url: string; expiresAt: Date } {
    return this.apiSignedUrl(key, options);
  }

  async localCopy(key: string): Promise<LocalFile> {
    if (!(await this.stat(key))) throw new FileMissingError(key);
    return { path: this.pathFor(key), release: async () => {} };
  }

  async produce<T>(key: string, write: (outPath: string) => Promise<T>): Promise<T> {
    const out = this.pathFor(key);
    await fs.promises.mkdir(path.dirname(out), { recursive: true });
    return write(out);
  }
}
