/**
 * Downloading what the API links to (a render's, asset's or still's signed `url`): its bytes as a
 * stream, checked against the length the server declared, resumed with Range after a dropped
 * connection where the server allows it. The API key and the client's headers go only to the
 * API's own origin: a presigned link to a store elsewhere carries its own credential, and must
 * not hand the key to that host.
 * Part of the SDK runtime (see index.ts): only web-standard globals (fetch, Web Crypto) and sibling files may be used.
 */
import { type AnyClient, downloadContextOf } from './client.js';
import { ConnectionError, errorFromResponse, InvalidResponseError, LavendlyError, TimeoutError } from './errors.js';
import { AttemptTimer } from './uploads.js';
import { retryAfterMs } from './retry-after.js';
import { describe, errorBody, readBody, sleep } from './wire.js';

export interface DownloadOptions {
  signal?: AbortSignal;
  /**
   * Per-attempt timeout in milliseconds (default: the client's). Every chunk received restarts
   * it, so it bounds a stall, not the length of the file.
   */
  timeout?: number;
  /** Retries after a dropped connection, a stall or a 5xx (default: the client's). */
  maxRetries?: number;
  /** Sent to the link's host only (never past a redirect to another origin). */
  headers?: Record<string, string>;
}

/** A download under way: `body` gives the file's bytes and errors if the transfer fails. */
export interface Download {
  /**
   * The bytes. A dropped connection is resumed with Range where the server allows it (and did
   * not compress the answer); where it does not, or once the retries are spent, the stream
   * errors with a ConnectionError (or a TimeoutError), and an answer shorter than its
   * Content-Length with an InvalidResponseError.
   */
  body: ReadableStream<Uint8Array>;
  /** The file's size as the server declared it, or null when it did not say. */
  size: number | null;
  contentType: string | null;
  headers: Headers;
}

/** What the client lends a download: its fetch, its credentials (for its own origin) and its retry policy. */
export interface DownloadContext {
  fetch: typeof fetch;
  baseUrl: string;
  /** User-Agent, the client's headers and Authorization: for the API's origin only. */
  apiHeaders(): Headers;
  userAgent: string;
  timeout: number;
  maxRetries: number;
  maxRetryAfter: number;
  backoff(attempt: number): number;
  errorClasses: Readonly<Record<string, typeof LavendlyError>> | undefined;
}

const MAX_REDIRECTS = 5;
/** An error answer is read for its envelope, never more than this. */
const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * Downloads what a signed `url` of the API points at (a render's, asset's or still's) in any
 * runtime, with `client`'s fetch, retries and (for the API's own origin only, never a store's
 * presigned link) its API key: resolves once the server answered, to the body as a stream and
 * its declared size. `import { download } from '@lavendly/sdk'; await download(client, url)`.
 */
export function download(client: AnyClient, url: string, options: DownloadOptions = {}): Promise<Download> {
  return openDownload(downloadContextOf(client), url, options);
}

/**
 * Starts downloading `url` (absolute, or relative to the client's baseUrl) and resolves once the
 * server answered with the file. `onRestart` is called when the bytes start over from the first
 * (a retry that could not resume): a caller that can discard what it has (a file) passes it;
 * without it a restart after bytes were delivered fails the stream instead.
 */
export async function openDownload(ctx: DownloadContext, url: string, options: DownloadOptions = {}, onRestart?: () => void | Promise<void>): Promise<Download> {
  const transfer = new Transfer(ctx, resolveUrl(url, ctx.baseUrl), options, onRestart);
  await transfer.open();
  const { res } = transfer;
  return {
    body: new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = await transfer.next();
        if (chunk) controller.enqueue(chunk);
        else controller.close();
      },
      cancel: (reason) => transfer.cancel(reason),
    }),
    size: transfer.total,
    contentType: res!.headers.get('content-type'),
    headers: res!.headers,
  };
}

function resolveUrl(url: string, baseUrl: string): URL {
  let u: URL;
  try {
    u = new URL(url, `${baseUrl}/`);
  } catch {
    throw new LavendlyError(`not a URL: ${String(url).slice(0, 100)}`, { code: 'invalid_url' });
  }
  checkScheme(u, 'the link');
  return u;
}

function checkScheme(u: URL, what: string): void {
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new LavendlyError(`${what} is a ${u.protocol} URL; the SDK downloads only http and https`, { code: 'unsupported_scheme' });
  }
}

/** The URL as messages show it: its query may carry a signature or credential. */
function shown(u: URL): string {
  return `${u.origin}${u.pathname}`;
}

class Transfer {
  /** Bytes handed out so far. */
  offset = 0;
  /** The file's whole size, once a server declared it. */
  total: number | null = null;
  res: Response | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #timer: AttemptTimer | undefined;
  #signal: AbortSignal | undefined;
  /** ETag or Last-Modified of the first answer: a resumed range must be of the same file. */
  #validator: string | null = null;
  #ranges = false;
  #attempt = 0;
  readonly #timeout: number;
  readonly #maxRetries: number;
  readonly #what: string;

  constructor(
    readonly ctx: DownloadContext,
    readonly url: URL,
    readonly options: DownloadOptions,
    readonly onRestart: (() => void | Promise<void>) | undefined,
  ) {
    this.#timeout = options.timeout ?? ctx.timeout;
    this.#maxRetries = options.maxRetries ?? ctx.maxRetries;
    this.#what = `GET ${shown(url)}`;
  }

  /** Sends attempts until one answers with (the rest of) the file; errors past the retries. */
  async open(): Promise<void> {
    for (;;) {
      const outcome = await this.#tryOpen().catch((err: unknown) => this.#failure(err));
      if (outcome === 'ok') return;
      await this.#beforeRetry(outcome);
    }
  }

  /** The next chunk, or null at the end; a dropped connection is retried (resumed or restarted). */
  async next(): Promise<Uint8Array | null> {
    for (;;) {
      try {
        // The clock runs while the bytes are awaited, not while the caller handles them.
        this.#timer!.restart();
        const { done, value } = await this.#reader!.read();
        this.#timer!.clear();
        if (!done) {
          this.offset += value.byteLength;
          if (this.total !== null && this.offset > this.total) {
            throw this.#invalid(`answered more than the ${this.total} bytes it declared`);
          }
          return value;
        }
        if (this.total === null || this.offset === this.total) return null;
        // Ended cleanly but short: as good as a dropped connection (fetch usually reports that itself).
        throw new ConnectionError(`${this.#what}: the answer ended after ${this.offset} of ${this.total} bytes`, { code: 'incomplete_body' });
      } catch (err) {
        const error = this.#failure(err);
        if (error instanceof InvalidResponseError || this.#attempt >= this.#maxRetries) {
          this.#timer?.clear();
          throw error;
        }
        await this.#beforeRetry(error);
        await this.open();
      }
    }
  }

  async cancel(reason: unknown): Promise<void> {
    this.#timer?.clear();
    await this.#reader?.cancel(reason).catch(() => undefined);
  }

  /** Waits before the next attempt, or throws `error` when none is left. */
  async #beforeRetry(error: LavendlyError): Promise<void> {
    if (this.#attempt >= this.#maxRetries || !retriable(error)) throw error;
    const asked = error instanceof ConnectionError ? undefined : retryAfterMs(error.headers);
    const wait = asked ?? this.ctx.backoff(this.#attempt);
    if (wait > this.ctx.maxRetryAfter) throw error;
    this.#attempt++;
    await sleep(wait, this.options.signal);
  }

  /** The SDK's error for what an attempt threw (the caller's abort is rethrown as it is). */
  #failure(err: unknown): LavendlyError {
    this.#timer?.clear();
    if (this.options.signal?.aborted) throw this.options.signal.reason;
    if (err instanceof LavendlyError) return err;
    if (this.#timer?.signal.aborted) {
      return new TimeoutError(`${this.#what} timed out after ${this.#timeout} ms without progress`, { code: 'timeout', cause: err });
    }
    return new ConnectionError(`${this.#what} failed after ${this.offset} bytes: ${describe(err)}`, { code: 'connection_error', cause: err });
  }

  #invalid(message: string, res?: Response): InvalidResponseError {
    return new InvalidResponseError(`${this.#what} ${message}`, { code: 'invalid_response', status: res?.status ?? 0, headers: res?.headers ?? null });
  }

  async #tryOpen(): Promise<'ok' | LavendlyError> {
    this.#timer?.clear();
    this.#timer = new AttemptTimer(this.#timeout);
    this.#signal = this.options.signal ? AbortSignal.any([this.options.signal, this.#timer.signal]) : this.#timer.signal;
    const resuming = this.offset > 0 && this.#ranges && this.#validator !== null;
    const res = await this.#follow(resuming ? { range: `bytes=${this.offset}-`, 'if-range': this.#validator! } : {});
    if (!res.ok) return this.#errorOf(res);
    let start = 0;
    if (res.status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
      if (!resuming || !range || Number(range[1]) !== this.offset || (this.total !== null && Number(range[3]) !== this.total)) {
        await res.body?.cancel();
        throw this.#invalid(`answered a range that is not the rest of the file (${res.headers.get('content-range') ?? 'no Content-Range'})`, res);
      }
      start = this.offset;
    }
    if (start === 0 && this.offset > 0) {
      // The server sent the whole file again: start over, or fail if what was delivered cannot be taken back.
      if (!this.onRestart) {
        await res.body?.cancel();
        return new ConnectionError(`${this.#what} was cut off after ${this.offset} bytes and the server cannot resume it`, { code: 'cannot_resume' });
      }
      await this.onRestart();
      this.offset = 0;
    }
    this.res = res;
    this.#reader?.releaseLock();
    this.#reader = res.body?.getReader() ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() }).getReader();
    const length = res.headers.get('content-length');
    // A body the server compressed is decoded by fetch: its length is not the file's.
    const declared = length !== null && /^\d+$/.test(length) && !res.headers.get('content-encoding') ? Number(length) : null;
    if (start === 0) {
      this.total = declared;
      // A Range counts the bytes as sent: of a compressed answer (a server may compress despite
      // `identity`), not the decoded ones counted here. Such an answer is started over instead.
      this.#ranges = /\bbytes\b/i.test(res.headers.get('accept-ranges') ?? '') && !res.headers.get('content-encoding');
      this.#validator = strongEtag(res.headers.get('etag')) ?? res.headers.get('last-modified');
    } else if (declared !== null && this.total !== null && start + declared !== this.total) {
      await res.body?.cancel();
      throw this.#invalid(`answered ${declared} bytes from ${start} of a ${this.total}-byte file`, res);
    }
    this.#timer.clear(); // restarted by each read (next)
    return 'ok';
  }

  /** GETs the link, following up to MAX_REDIRECTS http(s) redirects by hand, credentials kept to their origins. */
  async #follow(extra: Record<string, string>): Promise<Response> {
    const apiOrigin = new URL(`${this.ctx.baseUrl}/`).origin;
    let url = this.url;
    for (let hop = 0; ; hop++) {
      const headers = url.origin === apiOrigin ? this.ctx.apiHeaders() : new Headers({ 'user-agent': this.ctx.userAgent });
      if (url.origin === this.url.origin) for (const [k, v] of Object.entries(this.options.headers ?? {})) headers.set(k, v);
      headers.set('accept', '*/*');
      // The bytes as stored: a compressed answer's length says nothing of the file's.
      headers.set('accept-encoding', 'identity');
      for (const [k, v] of Object.entries(extra)) headers.set(k, v);
      const res = await this.ctx.fetch(url.href, { headers, signal: this.#signal!, redirect: 'manual' });
      if (res.type === 'opaqueredirect') {
        throw new LavendlyError(`${this.#what} was redirected, which a browser does not let the SDK follow`, { code: 'http_redirect' });
      }
      const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
      if (location === null) return res;
      await res.body?.cancel();
      if (hop >= MAX_REDIRECTS) throw new LavendlyError(`${this.#what}: more than ${MAX_REDIRECTS} redirects`, { code: 'http_redirect', status: res.status });
      const next = new URL(location, url);
      checkScheme(next, `${this.#what}: the redirect`);
      url = next;
    }
  }

  /** The typed error of an error answer: the API's envelope, or a store's XML error in its terms. */
  async #errorOf(res: Response): Promise<LavendlyError> {
    const read = await readBody(res, ERROR_BODY_LIMIT).catch(() => ({ kind: 'none' as const, value: undefined }));
    // A store answers its errors in XML (application/xml), which readBody keeps as a Blob.
    const text = read.kind === 'text' ? read.value : read.kind === 'blob' && /xml/i.test(read.value.type) ? await read.value.text() : null;
    const body = text === null ? errorBody(read) : (storeError(res.status, text) ?? text);
    const error = errorFromResponse(res.status, res.headers, body, this.ctx.errorClasses);
    if (res.status === 416 && this.offset > 0) {
      // The file is no longer as long as it was: start over without a range.
      this.#validator = null;
      return new ConnectionError(`${this.#what}: the rest of the file is gone (416)`, { code: 'connection_error', cause: error });
    }
    return error;
  }
}

/**
 * An S3-style XML error (`<Error><Code>AccessDenied</Code><Message>Request has expired</Message>`)
 * as the API's own envelope for the same case: a link refused is `forbidden` (reason `expired`
 * or `invalid_signature`, as the API's /files answers), a missing object `not_found`.
 */
function storeError(status: number, text: string): unknown {
  const field = (name: string) => new RegExp(`<${name}>([^<]{0,500})</${name}>`).exec(text)?.[1];
  const storeCode = field('Code');
  if (!/^\s*(<\?xml[^>]*>\s*)?<Error>/.test(text) || !storeCode) return null;
  const message = field('Message') ?? storeCode;
  if (status === 403) {
    const reason = /expired/i.test(message) || storeCode === 'ExpiredToken' ? 'expired' : 'invalid_signature';
    return { error: { code: 'forbidden', message: `The store refused the link: ${message}`, reason, store_code: storeCode } };
  }
  if (status === 404) return { error: { code: 'not_found', message: `The store has no such file: ${message}`, store_code: storeCode } };
  return { error: { code: `http_${status}`, message: `The store answered ${status}: ${message}`, store_code: storeCode } };
}

/** A weak ETag cannot vouch for a byte range (RFC 9110 If-Range). */
function strongEtag(etag: string | null): string | null {
  return etag && !etag.startsWith('W/') ? etag : null;
}

function retriable(error: LavendlyError): boolean {
  if (error instanceof ConnectionError) return error.code !== 'cannot_resume';
  return error.status === 429 || (error.status >= 500 && error.status !== 501);
}
