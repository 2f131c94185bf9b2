/**
 * The S3 driver: files are objects `<key>` in one bucket of an S3-compatible store (AWS S3, MinIO,
 * s3rver ...), path-style addressed. Download links are presigned GETs straight to the store (the
 * store answers Range requests itself); tools that need a path (ffmpeg) get a scratch copy, and
 * what they write is uploaded from scratch, so no stored file lives on the local disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { S3StorageConfig } from '../config.js';
import { mimeForExt } from '../net/sniff.js';
import { FileMissingError, isValidKey, Storage, type LocalFile, type StorageOptions, type StoredFile } from './base.js';
import { clusterDate } from '../db/cluster-time.js';
import { presignGet } from './sigv4.js';
import { StorageUnavailableError, storeFailure } from './unavailable.js';

/**
 * A 404 about the object. A missing bucket is a 404 too, but the store's fault, not a missing
 * file: a GET names it (NoSuchBucket); a HEAD has no body to name anything, so stat asks the bucket.
 */
const isMissing = (err: unknown) =>
  err instanceof S3ServiceException && err.name !== 'NoSuchBucket' && (err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404);

const QUIET = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export class S3Storage extends Storage {
  readonly driver = 's3' as const;
  readonly bucket: string;
  readonly client: S3Client;
  /** Its settings (the start-up check names them). */
  readonly s3: S3StorageConfig;

  constructor(options: StorageOptions & { s3: S3StorageConfig }) {
    super(options);
    this.s3 = options.s3;
    this.bucket = options.s3.bucket;
    this.client = new S3Client({
      endpoint: options.s3.endpoint,
      region: options.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: options.s3.accessKeyId, secretAccessKey: options.s3.secretAccessKey, ...(options.s3.sessionToken ? { sessionToken: options.s3.sessionToken } : {}) },
      // Only the checksums S3 requires: S3-compatible servers do not all know the newer ones.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // A store that accepts connections and never answers must not hold a request or a job
      // forever. Both bounds are on silence (connecting; then no byte either way), not on the
      // whole call, so a large object may take as long as it keeps flowing. The socket bound
      // covers a streamed GET body too.
      requestHandler: { connectionTimeout: options.s3.timeoutMs, socketTimeout: options.s3.timeoutMs },
      // Without one the SDK writes a bare line to the console when a streamed PUT fails; the
      // failure itself reaches the log whole, as the cause of StorageUnavailableError.
      logger: QUIET,
    });
  }

  /**
   * One call to the store; its failures (not a missing object) become StorageUnavailableError.
   * The SDK tries a call up to 3 times, and a store that accepts and never answers would cost one
   * whole timeout per try (90 s at the default 30 s, 180 s for a request making two calls) before
   * the client heard anything. So the tries share one timeout, until the answer's head arrives:
   * quick errors (a 503 SlowDown, a reset) are still retried within it, silence is waited out once.
   * A streamed PUT is tried once by the SDK and bounded by silence alone (`budget` false), so a
   * large upload may take as long as it keeps flowing; so may a GET's body, read after this returns.
   */
  private async call<T>(send: (abortSignal?: AbortSignal) => Promise<T>, budget = true): Promise<T> {
    const deadline = budget ? new AbortController() : null;
    const timer = deadline && setTimeout(() => deadline.abort(), this.s3.timeoutMs);
    try {
      return await send(deadline?.signal);
    } catch (err) {
      if (deadline?.signal.aborted) throw new StorageUnavailableError(new Error(`the store did not answer within ${this.s3.timeoutMs} ms`, { cause: err }));
      throw isMissing(err) ? err : storeFailure(err);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private checked(key: string): string {
    if (!isValidKey(key)) throw new Error(`invalid file key: ${key}`);
    return key;
  }

  async stat(key: string): Promise<StoredFile | null> {
    try {
      const head = await this.call((abortSignal) => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.checked(key) }), { abortSignal }));
      const mtime = head.LastModified ?? new Date(0);
      return { size: Number(head.ContentLength ?? 0), mtime, mtimeMs: mtime.getTime() };
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    // Only on a miss, so the extra call costs nothing on the usual path.
    try {
      await this.call((abortSignal) => this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal }));
    } catch (err) {
      // 403: a policy that lets us read objects but not ask about the bucket; the HEAD's 404 stands.
      const cause = err instanceof StorageUnavailableError ? err.cause : err;
      if (cause instanceof S3ServiceException && cause.$metadata?.httpStatusCode === 403) return null;
      throw isMissing(err) ? new StorageUnavailableError(err) : err;
    }
    return null;
  }

  /** One PUT of the whole file: S3 makes an object visible only once all of it arrived. */
  async moveIn(fromPath: string, key: string): Promise<void> {
    const size = (await fs.promises.stat(fromPath)).size;
    await this.call(() => this.client.send(new PutObjectCommand({
      Bucket: this.bucket,
      Key: this.checked(key),
      Body: fs.createReadStream(fromPath),
      ContentLength: size,
      ContentType: mimeForExt(path.extname(key).slice(1)),
    })), false);
    await fs.promises.rm(fromPath, { force: true });
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    try {
      const got = await this.call((abortSignal) => this.client.send(new GetObjectCommand({
        Bucket: this.bucket, Key: this.checked(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }), { abortSignal }));
      return got.Body as Readable;
    } catch (err) {
      if (isMissing(err)) throw new FileMissingError(key);
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await this.call((abortSignal) => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.checked(key) }), { abortSignal }));
  }

  async removeTree(key: string): Promise<void> {
    const keys = [this.checked(key), ...(await this.list(key))];
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.call((abortSignal) => this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }), { abortSignal }));
      if (out.Errors?.length) throw new Error(`could not delete ${out.Errors.length} object(s) under ${key}: ${out.Errors[0]?.Message ?? out.Errors[0]?.Code}`);
    }
  }

  /**
   * Lists at most one object of the bucket: the cheapest call that needs the bucket and every
   * permission a list needs. Unlike a HeadBucket, its error answer has a body naming the cause
   * (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied, NoSuchBucket). Failures as `call`'s.
   */
  async checkBucket(): Promise<void> {
    await this.call((abortSignal) => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: 1 }), { abortSignal }));
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.call((abortSignal) => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.checked(prefix)}/`, ContinuationToken: token }), { abortSignal }));
      for (const o of page.Contents ?? []) if (o.Key && isValidKey(o.Key)) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  signedUrlWithExpiry(key: string, options: { expiresInS?: number; now?: Date } = {}): { url: string; expiresAt: Date } {
    const now = options.now ?? clusterDate();
    const ttl = this.ttlOf(options.expiresInS);
    const url = presignGet({ ...this.s3, endpoint: this.s3.publicEndpoint }, this.checked(key), {
      expiresInS: ttl, now, query: { 'response-content-disposition': 'inline' },
    });
    return { url, expiresAt: new Date(Math.floor(now.getTime() / 1000) * 1000 + ttl * 1000) };
  }

  async localCopy(key: string): Promise<LocalFile> {
    const dir = await this.scratchDir();
    const release = () => fs.promises.rm(dir, { recursive: true, force: true });
    try {
      const file = path.join(dir, path.basename(key));
      // The body stalling or breaking mid-way is the store failing too (the handler's idle bound ends it).
      await pipeline(await this.read(key), fs.createWriteStream(file)).catch((err: unknown) => { throw storeFailure(err); });
      return { path: file, release };
    } catch (err) {
      await release();
      throw err;
    }
  }

  async produce<T>(key: string, write: (outPath: string) => Promise<T>): Promise<T> {
    this.checked(key);
    const dir = await this.scratchDir();
    try {
      const file = path.join(dir, path.basename(key));
      const result = await write(file);
      await this.moveIn(file, key);
      return result;
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }
}
