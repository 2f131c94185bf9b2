/**
 * The media store failing, as opposed to a file missing from it: the store cannot be reached,
 * stops answering, answers with a server error, or lacks its bucket. None of that is the
 * caller's doing and all of it may pass, so it is `unavailable` (a 503 with Retry-After at the
 * HTTP edge), never "generate again" or "upload again". The message is shown to customers
 * (request errors, scene and render errors), so it names no address; the store's own error stays
 * on `cause`, for the log.
 */
import { S3ServiceException } from '@aws-sdk/client-s3';
import { DomainError } from '../errors.js';
import { isSocketFailure } from '../net/socket-errors.js';

/** What a client is told to wait: long enough for a restarted store, short enough to not give up. */
const RETRY_AFTER_S = 5;

export class StorageUnavailableError extends DomainError {
  /** A job meeting it waits for the store without spending an attempt (src/jobs/outage.ts). */
  readonly outage = true;
  /** What such a job waits for, as clients read it (`storage_unavailable`). */
  readonly peer = 'storage';
  constructor(cause: unknown) {
    super('unavailable', 'The media store is unavailable right now; try again in a few seconds.', { retry_after: RETRY_AFTER_S });
    this.cause = cause;
  }
}

/**
 * `err` as the store's failure when it is one (an S3 error answer, a timeout of the SDK's request
 * handler, a broken connection); anything else (an abort, a bug) unchanged.
 */
export function storeFailure(err: unknown): unknown {
  if (err instanceof StorageUnavailableError || !(err instanceof Error)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const broken = err instanceof S3ServiceException || err.name === 'TimeoutError'
    || (code !== undefined && isSocketFailure(code));
  return broken ? new StorageUnavailableError(err) : err;
}
