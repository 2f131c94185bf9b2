/**
 * Stream bytes to a file under a hard size limit and an idle timeout, atomically: the bytes go to a
 * temporary sibling that is renamed onto the destination only when everything succeeded; on any
 * failure (limit, timeout, abort, source error) the temporary file is removed and the destination
 * is never created.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type TransferFailure = 'too_large' | 'idle_timeout' | 'timeout' | 'aborted' | 'source_error' | 'io_error' | 'refused';

/** A transfer that could not complete; `reason` says why (`refused`: a caller's hook threw `detail.cause`). */
export class TransferError extends Error {
  constructor(
    readonly reason: TransferFailure,
    message: string,
    readonly detail: { maxBytes?: number; receivedBytes?: number; declaredBytes?: number; cause?: unknown } = {},
  ) {
    super(message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.name = 'TransferError';
  }
}

export interface LimitedWriteOptions {
  /** Abort as soon as more than this many bytes arrive. */
  maxBytes: number;
  /** Abort when no byte arrives for this long (endless slow or stalled bodies). */
  idleTimeoutMs?: number;
  /** Abort from outside (overall deadline, client gone). Its reason, if a TransferError, is rethrown. */
  signal?: AbortSignal;
  /** How many leading bytes to keep for content sniffing (default 4100). */
  headBytes?: number;
  /**
   * On failure, detach from the source and pause it instead of destroying it. For a server-side
   * request body: destroying it would reset the socket before the error response is sent.
   */
  keepSourceOpen?: boolean;
  /**
   * Asked before each chunk is written, with its size: throw to stop the transfer (a budget
   * shared by parallel transfers). The error comes back as a `refused` TransferError's cause.
   */
  admit?: (bytes: number) => void;
  /** Called once with the first `headBytes` bytes as soon as they arrived (early type check); throw to stop, as for `admit`. */
  onHead?: (head: Buffer) => void;
}

export interface LimitedWriteResult {
  path: string;
  bytes: number;
  sha256: string;
  /** The first `headBytes` bytes, for sniffing. */
  head: Buffer;
}

function tempPathFor(destPath: string): string {
  const dir = path.dirname(destPath);
  return path.join(dir, `.${path.basename(destPath)}.partial-${crypto.randomBytes(6).toString('hex')}`);
}

export async function writeLimited(source: Readable, destPath: string, options: LimitedWriteOptions): Promise<LimitedWriteResult> {
  const { maxBytes, idleTimeoutMs, signal } = options;
  const headLimit = options.headBytes ?? 4100;
  await fs.promises.mkdir(path.dirname(destPath), { recursive: true });
  const tmp = tempPathFor(destPath);
  const hash = crypto.createHash('sha256');
  const headChunks: Buffer[] = [];
  let headLength = 0;
  let bytes = 0;
  const local = new AbortController();
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdle = () => {
    if (!idleTimeoutMs) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      local.abort(new TransferError('idle_timeout', `No data arrived for ${idleTimeoutMs} ms.`, { receivedBytes: bytes }));
    }, idleTimeoutMs);
  };
  const onOuterAbort = () => local.abort(signal?.reason);
  if (signal?.aborted) onOuterAbort();
  else signal?.addEventListener('abort', onOuterAbort, { once: true });

  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        done(new TransferError('too_large', `The body exceeds the limit of ${maxBytes} bytes.`, { maxBytes, receivedBytes: bytes }));
        return;
      }
      armIdle();
      hash.update(chunk);
      try {
        options.admit?.(chunk.length);
        if (headLength < headLimit) {
          const piece = chunk.subarray(0, headLimit - headLength);
          headChunks.push(piece);
          headLength += piece.length;
          if (headLength === headLimit) options.onHead?.(Buffer.concat(headChunks));
        }
      } catch (err) {
        done(new TransferError('refused', (err as Error)?.message ?? String(err), { receivedBytes: bytes, cause: err }));
        return;
      }
      done(null, chunk);
    },
  });

  // With keepSourceOpen, the pipeline owns (and on failure destroys) only a pass-through fed by
  // the source; the source itself is unpiped and paused.
  let input: Readable = source;
  let detach = () => {};
  if (options.keepSourceOpen) {
    const relay = new PassThrough();
    const onSourceError = (err: Error) => relay.destroy(err);
    source.on('error', onSourceError);
    source.pipe(relay);
    input = relay;
    detach = () => {
      source.unpipe(relay);
      source.off('error', onSourceError);
      source.pause();
    };
  }
  const out = fs.createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
  armIdle();
  try {
    await pipeline(input, meter, out, { signal: local.signal });
    detach();
    await fs.promises.rename(tmp, destPath);
  } catch (err) {
    // A transfer refused at once can fail while the file's open() is still in flight: the stream
    // then creates the file after the failure. Wait until it has closed, then remove it.
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
    await fs.promises.rm(tmp, { force: true });
    if (options.keepSourceOpen) detach();
    else if (!source.destroyed) source.destroy();
    throw toTransferError(err, local.signal, bytes);
  } finally {
    clearTimeout(idleTimer);
    signal?.removeEventListener('abort', onOuterAbort);
  }
  return { path: destPath, bytes, sha256: hash.digest('hex'), head: Buffer.concat(headChunks) };
}

function toTransferError(err: unknown, signal: AbortSignal, bytes: number): TransferError {
  if (err instanceof TransferError) return err;
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof TransferError) return reason;
    if (reason instanceof Error && !(reason.name === 'AbortError')) {
      return new TransferError('aborted', reason.message, { receivedBytes: bytes, cause: reason });
    }
    return new TransferError('aborted', 'The transfer was aborted.', { receivedBytes: bytes, cause: reason });
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && /^E(NOSPC|ACCES|EXIST|ROFS|IO|MFILE|NOENT)$/.test(code)) {
    return new TransferError('io_error', `Could not write the file (${code}).`, { receivedBytes: bytes, cause: err });
  }
  return new TransferError('source_error', `The transfer failed: ${(err as Error)?.message ?? String(err)}`, { receivedBytes: bytes, cause: err });
}
