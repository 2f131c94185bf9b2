import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

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
    await rm(tmpPath, { force: true });
    throw err;
  }
}

/** Run `fn` with a fresh temporary directory that is removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, prefix = 'lavendly-media-'): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
