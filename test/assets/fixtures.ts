import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { nowIso } from '../../src/db/knex.js';
import { DomainError } from '../../src/errors.js';
import { type ApiError, httpErrorOf } from '../../src/http/errors.js';
import { FileStorage } from '../../src/storage/storage.js';
import { freshDb, type FreshDb } from '../helpers/db.js';
import { makeMedia } from '../net/media.js';
import { filesUnder, tempDir } from '../net/servers.js';
import type { DbKind } from '../../src/db/knex.js';

/** Real media made once per test file. */
export async function makeFixtures(names: string[]): Promise<{ dir: string; file(name: string): string; cleanup(): void }> {
  const dir = tempDir('lavendly-asset-media-');
  await Promise.all(names.map((n) => makeMedia(dir, n)));
  return { dir, file: (name) => path.join(dir, name), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface AssetEnv {
  fresh: FreshDb;
  storage: FileStorage;
  /** Every file under <dataDir>/files (staging and temporaries included). */
  storedFiles(): string[];
  /** Empties the asset tables and the files folder (one database per file keeps tests fast). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function assetEnv(kind: DbKind): Promise<AssetEnv> {
  const fresh = await freshDb(kind);
  for (const id of ['acc_1', 'acc_2']) await fresh.db('accounts').insert({ id, name: id, created_at: nowIso() });
  const storage = new FileStorage({ dataDir: fresh.dataDir, publicBaseUrl: 'http://localhost:8090', secret: crypto.randomBytes(32) });
  return {
    fresh,
    storage,
    storedFiles: () => filesUnder(path.join(fresh.dataDir, 'files')),
    reset: async () => {
      for (const table of ['upload_slots', 'assets', 'storage_usage']) await fresh.db(table).delete();
      fs.rmSync(path.join(fresh.dataDir, 'files'), { recursive: true, force: true });
    },
    close: () => fresh.close(),
  };
}

/** `total` bytes starting with `head`, in 64 KB chunks, produced lazily. */
export function bytesStream(head: Buffer, total: number): Readable {
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024);
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      let piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
      if (sent === 0) piece = Buffer.concat([head, piece.subarray(head.length)]);
      sent += piece.length;
      this.push(piece);
    },
  });
}

export const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The domain error a promise rejects with, as the HTTP edge answers it (with its status). */
export async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof DomainError) return httpErrorOf(err);
    throw err;
  }
  throw new Error('expected a DomainError');
}
