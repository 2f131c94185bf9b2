/**
 * A full disk (or a spent quota), wherever it shows: a file write's ENOSPC or EDQUOT, SQLite's
 * SQLITE_FULL, PostgreSQL's disk_full (53100), or ffmpeg saying so in its stderr. None of that is
 * the caller's doing and it passes once space is freed, so a request meeting it answers 503
 * `unavailable` with Retry-After (the answer the server already gives when its database or media
 * store is away), never a 500, and a job meeting it fails as retryable. The message a client reads
 * names no path; the error itself stays on `cause`, for the log.
 */
import { DomainError } from '../errors.js';

/**
 * What a client is told to wait: freeing a disk takes a person or a sweep, not seconds, so a
 * tighter loop of retries would only add load (the SDKs honour Retry-After up to 60 s).
 */
const RETRY_AFTER_S = 30;

const ERRNO = new Set(['ENOSPC', 'EDQUOT']);
/** What ffmpeg prints (strerror) when a write fails for lack of space. */
const FFMPEG_WORDS = /No space left on device|Disk quota exceeded/;

export class DiskFullError extends DomainError {
  constructor(cause: unknown) {
    super('unavailable', 'The server is out of disk space right now; nothing was changed. Try again later.', { retry_after: RETRY_AFTER_S });
    this.cause = cause;
  }
}

/** True when `err`, or an error it wraps (`cause`, a transfer's `detail.cause`), is a full disk. */
export function isDiskFull(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 6; depth++) {
    if (e instanceof DiskFullError) return true;
    const { code, stderrTail } = e as { code?: unknown; stderrTail?: unknown };
    if (typeof code === 'string' && (ERRNO.has(code) || code === 'SQLITE_FULL' || code === '53100')) return true;
    if (typeof stderrTail === 'string' && FFMPEG_WORDS.test(stderrTail)) return true;
    e = (e as { cause?: unknown }).cause ?? (e as { detail?: { cause?: unknown } }).detail?.cause;
  }
  return false;
}

/** An ENOSPC error for a write that failed without saying why (ffmpeg leaving an empty file). */
export function noSpaceError(dir: string, cause?: unknown): NodeJS.ErrnoException {
  return Object.assign(new Error(`no space left on the disk holding ${dir}`, { cause }), { code: 'ENOSPC' });
}
