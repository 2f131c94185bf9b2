/**
 * A small on-disk cache of JSON values keyed on content hashes, for what is slow and depends only
 * on the bytes of the spec's files and a library's version: the YAML parse (~0.5 s on our spec) and
 * Spectral's findings (~4 s CPU). It lives in `node_modules/.cache/lavendly-framework/` (where
 * tools keep such caches; `npm ci` wipes it) or, without a node_modules folder, in the OS temp dir.
 * Entries are never stale, only unused: each kind keeps its most recent few.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

/** Entries kept per kind; older ones are removed when a new one is written. */
const KEEP = 16;

export function cacheDir(): string {
  return existsSync('node_modules')
    ? path.resolve('node_modules', '.cache', 'lavendly-framework')
    : path.join(os.tmpdir(), 'lavendly-framework-cache');
}

export function sha256(...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

const entry = (kind: string, key: string) => path.join(cacheDir(), `${kind}-${key}.json`);

/** The cached value, or undefined (missing or unreadable entries are misses). */
export async function cacheGet<T>(kind: string, key: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(entry(kind, key), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Stores `value` (written to a temp file and renamed, so a concurrent reader never sees half of it).
 * A value JSON cannot carry exactly (a non-finite number) is not stored. Failing to write is not an
 * error: the cache only saves time.
 */
export async function cachePut(kind: string, key: string, value: unknown): Promise<void> {
  let text: string;
  try {
    text = JSON.stringify(value, (_k, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) throw new Error('not representable');
      return v;
    });
  } catch {
    return;
  }
  try {
    const dir = cacheDir();
    await mkdir(dir, { recursive: true });
    const tmp = `${entry(kind, key)}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, entry(kind, key));
    await prune(dir, kind);
  } catch {
    // read-only or full disk: run uncached
  }
}

async function prune(dir: string, kind: string): Promise<void> {
  const names = (await readdir(dir)).filter((n) => n.startsWith(`${kind}-`) && n.endsWith('.json'));
  if (names.length <= KEEP) return;
  const dated = await Promise.all(names.map(async (n) => ({ n, t: await stat(path.join(dir, n)).then((s) => s.mtimeMs, () => 0) })));
  dated.sort((a, b) => b.t - a.t);
  await Promise.all(dated.slice(KEEP).map(({ n }) => rm(path.join(dir, n), { force: true })));
}

const require = createRequire(import.meta.url);

/** A dependency's installed version (part of cache keys: an upgrade must not reuse old results). */
export function packageVersion(name: string): string {
  try {
    let dir = path.dirname(require.resolve(name));
    for (let i = 0; i < 6; i++, dir = path.dirname(dir)) {
      const file = path.join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version ?? 'unknown';
    }
  } catch {
    // not resolvable from here: the key just carries no version
  }
  return 'unknown';
}
