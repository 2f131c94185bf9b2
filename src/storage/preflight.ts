/**
 * The media store checked once at start (`serve`, `worker`), bounded by LAVENDLY_STORAGE_TIMEOUT_S.
 * A store that refuses our credentials or lacks its bucket looked like an outage: every upload
 * answered 503 and every job waited out its 30 min outage window, with only the log saying why.
 * That does not pass by itself, so it refuses the start with one line naming the setting to fix (as
 * src/media/preflight.ts does for ffmpeg). A store that does not answer, or answers a server
 * error, may be restarting: one warning, and the start goes on (the outage passes).
 */
import { S3ServiceException } from '@aws-sdk/client-s3';
import { ConfigError, type S3StorageConfig } from '../config.js';
import type { Storage } from './base.js';
import { S3Storage } from './s3.js';
import { StorageUnavailableError } from './unavailable.js';

interface PreflightLog {
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** Throws ConfigError when the store refuses us for good; warns when it does not answer now. */
export async function checkStore(storage: Storage, log: PreflightLog): Promise<void> {
  if (!(storage instanceof S3Storage)) return;
  try {
    await storage.checkBucket();
  } catch (err) {
    const cause = err instanceof StorageUnavailableError ? err.cause : err;
    const refusal = cause instanceof S3ServiceException ? refusalOf(cause, storage.s3) : null;
    if (refusal) throw new ConfigError(refusal);
    log.warn({ err: cause }, `the media store at ${storage.s3.endpoint} did not answer the start-up check; starting anyway, uploads and jobs wait for it`);
  }
}

/** The line for an answer that will not change until a setting does; null for anything that may pass. */
function refusalOf(err: S3ServiceException, s3: S3StorageConfig): string | null {
  const at = `the media store at ${s3.endpoint}`;
  const code = `(${err.name}, HTTP ${err.$metadata?.httpStatusCode ?? '?'})`;
  switch (err.name) {
    case 'NoSuchBucket':
      return `${at} has no bucket '${s3.bucket}' ${code}: create it, or name an existing bucket in LAVENDLY_STORAGE_URL`;
    case 'InvalidAccessKeyId':
      return `${at} does not know the access key ${code}: set AWS_ACCESS_KEY_ID to a key of that store`;
    case 'SignatureDoesNotMatch':
      return `${at} refused the request signature ${code}: set AWS_SECRET_ACCESS_KEY to the secret of AWS_ACCESS_KEY_ID`;
    case 'ExpiredToken':
    case 'InvalidToken':
      return `${at} refused the session token ${code}: set a current AWS_SESSION_TOKEN, or unset it for a long-term key`;
    case 'AuthorizationHeaderMalformed':
    case 'PermanentRedirect':
      return `${at} keeps bucket '${s3.bucket}' in another region than '${s3.region}' ${code}: set region= in LAVENDLY_STORAGE_URL`;
  }
  if (err.$metadata?.httpStatusCode === 403) {
    return `${at} denied listing bucket '${s3.bucket}' ${code}: the key in AWS_ACCESS_KEY_ID needs to list, read, write and delete objects there`;
  }
  return null;
}
