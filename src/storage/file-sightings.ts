/**
 * The temporary files (partial writes, staging) one sweep of this process has seen, each with its
 * size and mtime and when (monotonic ms) it was first seen so. A file's age by its mtime alone is
 * not enough: the machine's clock stepping forward makes every live write's file look abandoned
 * at once, and the sweep would delete it under its writer. A live writer changes its file; one
 * seen unchanged for the sweep's whole limit on the monotonic clock, which no step moves, has none.
 */
import type fs from 'node:fs';

class FileSightings {
  private seen = new Map<string, { size: number; mtimeMs: number; at: number }>();

  /** Whether `file` has been seen with this size and mtime for `confirmMs`; notes it otherwise. */
  unchangedFor(file: string, s: fs.Stats, confirmMs: number): boolean {
    const now = performance.now();
    const prev = this.seen.get(file);
    if (prev && prev.size === s.size && prev.mtimeMs === s.mtimeMs) return now - prev.at >= confirmMs;
    this.seen.set(file, { size: s.size, mtimeMs: s.mtimeMs, at: now });
    return false;
  }

  /** Forgets files no longer there (deleted, or renamed into place). */
  keepOnly(present: Set<string>): void {
    for (const file of this.seen.keys()) if (!present.has(file)) this.seen.delete(file);
  }
}

/** Per sweep and folder, kept across the Storage instances of this process. */
const sweeps = new Map<string, FileSightings>();

export function sightingsOf(sweep: string, dir: string): FileSightings {
  const key = `${sweep}\n${dir}`;
  let s = sweeps.get(key);
  if (!s) sweeps.set(key, (s = new FileSightings()));
  return s;
}
