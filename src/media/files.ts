import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rename, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDiskFull, noSpaceError } from '../util/disk-full.js';

/**
 * Write a file atomically: `produce` writes to a sibling temporary path (same extension, so ffmpeg
 * picks the right muxer), which is renamed onto `outPath` only on success. A crash or failure never
 * leaves a partial file at `outPath`.
 */
export async function writeAtomically<T>(outPath: string, produce: (tmpPath: string) => Promise<T>): Promise<T> {
  const dir = path.dirname(outPath);
  await mkdir(dir, { recursive: true });
  const ext = path.extname(outPath);
  const tmpPath = path.join(dir, `.${path.basename(outPath, ext)}.partial-${randomBytes(4).toString('hex')}${ext}`);
  try {
    const result = await produce(tmpPath);
    await rename(tmpPath, outPath);
    return result;
  } catch (err) {
    // Measured before the partial file goes, since removing it frees what it took.
    const full = !isDiskFull(err) && (await nearlyFull(dir));
    await rm(tmpPath, { force: true });
    throw full ? noSpaceError(dir, err) : err;
  }
}

/**
 * Below this much free space a failed write is taken for a full disk. ffmpeg does not always say
 * so: writing a PNG still it exits 0 and leaves an empty file, which read as "no frame" (a 500).
 */
const LOW_SPACE_BYTES = 1 << 20;

async function nearlyFull(dir: string): Promise<boolean> {
  const s = await statfs(dir).catch(() => null);
  return s !== null && s.bavail * s.bsize < LOW_SPACE_BYTES;
}

/** Run `fn` with a fresh temporary directory that is removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, prefix = 'lavendly-media-'): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix)).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    await recreateTmpdir();
    return mkdtemp(path.join(tmpdir(), prefix));
  });
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * TMPDIR removed while the server runs (a cleaner, an operator's `rm -rf`): every render and
 * scene failed with ENOENT until a restart. It is made again as the start-up check found it:
 * this user's own (0700), or /tmp for everyone (1777, sticky), whatever the umask.
 */
async function recreateTmpdir(): Promise<void> {
  const dir = tmpdir();
  const shared = dir === '/tmp';
  if ((await mkdir(dir, { recursive: true, mode: 0o700 })) === undefined) return; // it was back already
  await chmod(dir, shared ? 0o1777 : 0o700);
}

/**
 * Escape a value (typically a file path) for use as a filter option inside a -filter_complex /
 * -vf graph: first the option level (\ : '), then the graph level (\ ' [ ] , ;).
 */
export function escapeFilterValue(value: string): string {
  const optionLevel = value.replace(/[\\:']/g, (c) => `\\${c}`);
  return optionLevel.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}

/** Seconds formatted for ffmpeg arguments (no exponent notation, millisecond precision). */
export function secs(value: number): string {
  return (Math.round(value * 1000) / 1000).toFixed(3);
}
