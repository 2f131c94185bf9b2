/**
 * The HTTP client: fetch with timeouts, retries with jitter that honour Retry-After, one
 * idempotency key across the retries of a call, pagination and job polling.
 * Part of the SDK runtime (see index.ts): only web-standard globals (fetch, Web Crypto) and sibling files may be used.
 */
import { applyAuthHeaders, type AuthConfig, type Credential, credentialsFor, type SecurityRequirement, type SecurityScheme, withAuthQuery } from './auth.js';
import type { OperationDescriptor, OperationTypes, RequestParts } from './descriptors.js';
import { ConnectionError, errorFromResponse, InvalidResponseError, LavendlyError, TimeoutError, WaitTimeoutError } from './errors.js';
import type { DownloadContext } from './downloads.js';
import { PagePromise, type PageItem } from './pages.js';
import { AttemptTimer, bodySize, progressStream, streamsWithLength, type UploadBody, type UploadSlotSpec } from './uploads.js';
import { retryAfterMs } from './retry-after.js';
import { describe, encodeBody, errorBody, expandPath, getField, queryString, readBody, type ReadBody, sleep, splitParams } from './wire.js';

export interface ClientOptions {
  /** Sent as `Authorization: Bearer <apiKey>`. Defaults to the `<PREFIX>_API_KEY` environment variable. */
  apiKey?: string;
  /**
   * Credentials by security scheme name, for APIs whose spec declares others than Bearer: a string
   * for an API key (header, query or cookie) or a bearer token, `{ username, password }` for HTTP
   * Basic. Each goes only to the operations requiring its scheme, and only to the API's origin.
   * The generated client types this by the spec's schemes.
   */
  credentials?: Readonly<Record<string, Credential | undefined>>;
  /** Defaults to the `<PREFIX>_BASE_URL` environment variable, else the spec's first server URL. */
  baseUrl?: string;
  /**
   * Per-attempt timeout in milliseconds (default 60 000), from sending to the answer's last byte.
   * A ReadableStream body restarts it with every chunk sent, and so does a Blob body where fetch
   * can stream one with a Content-Length (Node, Deno, Bun); in a browser a Blob body adds the time
   * to send it at `minUploadRate`.
   */
  timeout?: number;
  /** Slowest upload of a Blob body allowed for, in bytes per second (default 131 072, 1 Mbit/s). */
  minUploadRate?: number;
  /** Retries after the first attempt (default 2). */
  maxRetries?: number;
  /** A fetch implementation (default: the global fetch). */
  fetch?: typeof fetch;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Backoff tuning: first delay and cap, in milliseconds (defaults 500 and 8 000). */
  backoff?: { initialDelay?: number; maxDelay?: number };
  /** Longest Retry-After honoured, in milliseconds (default 60 000); longer ones are not retried. */
  maxRetryAfter?: number;
  /** Largest response body read, in bytes (default 32 MiB); a larger one throws InvalidResponseError. */
  maxResponseBytes?: number;
}

export interface RequestOptions {
  /** Idempotency key for idempotent operations; one is generated when absent. Reused on retries. */
  idempotencyKey?: string;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  timeout?: number;
  maxRetries?: number;
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  requestId: string | null;
}

export interface WaitOptions {
  /** Give up after this many milliseconds (default 600 000). */
  timeout?: number;
  /** Delay between polls in milliseconds (default 2 000). */
  interval?: number;
  signal?: AbortSignal;
  /** Called with every polled body (progress reporting). */
  onPoll?: (body: unknown) => void;
}

export interface ClientDefaults {
  /** Used in User-Agent and messages. */
  name: string;
  version: string;
  baseUrl: string;
  /** Environment variable prefix: `LAVENDLY` -> LAVENDLY_API_KEY, LAVENDLY_BASE_URL. */
  envPrefix: string;
  /** The error class to throw per error code the API declares (by status otherwise). */
  errorClasses?: Readonly<Record<string, typeof LavendlyError>>;
  /** The spec's security schemes the SDK can send, by name (absent: every scheme is Bearer). */
  securitySchemes?: Readonly<Record<string, SecurityScheme>>;
  /** The document's default security requirement: what a download from the API's origin carries. */
  security?: SecurityRequirement;
}

function env(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.[name] || undefined;
}

/**
 * What a client lends the download functions (download, downloadFile): its fetch, credentials and
 * retry policy. They are functions, not methods, so that a bundle that never downloads leaves
 * their code out. Set by ApiClient's static block; not part of the SDK's exports (index.ts).
 */
export let downloadContextOf: (client: AnyClient) => DownloadContext;
/** A client of any API (any operation table): what the download functions take. */
export type AnyClient = ApiClient<any>;

/**
 * The base URL as given, when requests can be built on it: an http(s) address, or a path on the
 * page's own origin in a browser. `localhost:8090/v1` would otherwise be read as a URL of scheme
 * `localhost:` and fail only at the first call, with a message about something else.
 */
function checkedBaseUrl(url: string, example: string): string {
  if (/^https?:\/\/[^/?#]/i.test(url) || (url.startsWith('/') && !url.startsWith('//'))) return url;
  if (url === '') throw new TypeError('baseUrl is required: the API description names no server address to default to');
  const shown = url.length > 100 ? `${url.slice(0, 100)}…` : url;
  const like = /^https?:\/\//i.test(example) ? ` such as ${JSON.stringify(example)}` : '';
  throw new TypeError(`baseUrl must be an http:// or https:// address${like}, not ${JSON.stringify(shown)}`);
}

export class ApiClient<Ops extends { [K in keyof Ops]: OperationTypes } = Record<string, OperationTypes>> {
  readonly baseUrl: string;
  readonly #auth: AuthConfig;
  readonly #downloadSecurity: SecurityRequirement | undefined;
  readonly #timeout: number;
  readonly #maxRetries: number;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;
  readonly #initialDelay: number;
  readonly #maxDelay: number;
  readonly #maxRetryAfter: number;
  readonly #maxResponseBytes: number;
  readonly #minUploadRate: number;
  readonly #operations: Record<string, OperationDescriptor>;
  readonly #userAgent: string;
  readonly #errorClasses: ClientDefaults['errorClasses'];

  constructor(operations: Record<string, OperationDescriptor>, options: ClientOptions, defaults: ClientDefaults) {
    this.#operations = operations;
    this.#auth = { schemes: defaults.securitySchemes ?? {}, credentials: { ...options.credentials }, apiKey: options.apiKey ?? env(`${defaults.envPrefix}_API_KEY`) };
    this.#downloadSecurity = defaults.securitySchemes ? (defaults.security ?? []) : undefined;
    if (!defaults.securitySchemes && Object.keys(options.credentials ?? {}).length) {
      // Else they would be silently ignored, and every call go unauthenticated.
      throw new TypeError(`${defaults.name}: the API declares no security scheme but Bearer, which takes apiKey, not credentials`);
    }
    this.baseUrl = checkedBaseUrl((options.baseUrl ?? env(`${defaults.envPrefix}_BASE_URL`) ?? defaults.baseUrl).replace(/\/+$/, ''), defaults.baseUrl);
    this.#timeout = options.timeout ?? 60_000;
    this.#maxRetries = options.maxRetries ?? 2;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#headers = { ...options.headers };
    this.#initialDelay = options.backoff?.initialDelay ?? 500;
    this.#maxDelay = options.backoff?.maxDelay ?? 8_000;
    this.#maxRetryAfter = options.maxRetryAfter ?? 60_000;
    this.#maxResponseBytes = options.maxResponseBytes ?? 32 * 1024 * 1024;
    this.#minUploadRate = options.minUploadRate ?? 128 * 1024;
    this.#userAgent = `${defaults.name}-sdk/${defaults.version}`;
    this.#errorClasses = defaults.errorClasses;
  }

  /** The descriptor of an operation (throws on an unknown id). */
  operation(operationId: string): OperationDescriptor {
    // Own keys only: `constructor` or `toString` is no operation, whatever Object.prototype holds.
    const op = Object.prototype.hasOwnProperty.call(this.#operations, operationId) ? this.#operations[operationId] : undefined;
    if (!op) throw new TypeError(`unknown operation '${operationId}'`);
    return op;
  }

  /** Calls an operation with its structured input `{ path, query, headers, body }`; resolves to the body. */
  request<K extends keyof Ops & string>(operationId: K, parts?: RequestParts, options?: RequestOptions): Promise<Ops[K]['response']>;
  request(operationId: string, parts?: RequestParts, options?: RequestOptions): Promise<unknown>;
  async request(operationId: string, parts: RequestParts = {}, options: RequestOptions = {}): Promise<unknown> {
    return (await this.requestWithResponse(operationId, parts, options)).body;
  }

  /** Calls an operation with its flattened params (path + query + header + body fields in one object). */
  call<K extends keyof Ops & string>(operationId: K, params?: Ops[K]['params'], options?: RequestOptions): Promise<Ops[K]['response']>;
  call(operationId: string, params?: Record<string, unknown>, options?: RequestOptions): Promise<unknown>;
  async call(operationId: string, params: unknown = {}, options: RequestOptions = {}): Promise<unknown> {
    return this.request(operationId, splitParams(operationId, this.operation(operationId), params), options);
  }

  /**
   * A cursor-paginated list: `await` it for the first page, or `for await` over it for every item
   * of every page (`.pages()` iterates whole pages).
   */
  paginate<K extends keyof Ops & string>(operationId: K, params?: Ops[K]['params'], options?: RequestOptions): PagePromise<Ops[K]['response'], PageItem<Ops[K]['response']>>;
  paginate(operationId: string, params?: Record<string, unknown>, options?: RequestOptions): PagePromise<unknown, unknown>;
  paginate(operationId: string, params: unknown = {}, options: RequestOptions = {}): PagePromise<unknown, unknown> {
    const op = this.operation(operationId);
    const cursorArg = Object.entries(op.args).find(([, b]) => b.in === 'query' && b.name === 'cursor')?.[0] ?? 'cursor';
    return new PagePromise((cursor) => {
      const p = { ...(params as Record<string, unknown>) };
      if (cursor != null) p[cursorArg] = cursor;
      return this.call(operationId, p, options);
    });
  }

  /** Polls the job's poll operation until its status is terminal; resolves to the last polled body. */
  async waitForJob(operationId: string, job: unknown, options: WaitOptions = {}): Promise<unknown> {
    const spec = this.operation(operationId).asyncJob;
    if (!spec) throw new TypeError(`operation '${operationId}' does not return a job`);
    const pollOp = this.operation(spec.poll);
    const parts: Required<Pick<RequestParts, 'path' | 'query'>> = { path: {}, query: {} };
    for (const [param, field] of Object.entries(spec.args)) {
      const value = getField(job, field);
      if (value === undefined) throw new TypeError(`${operationId}: the job has no '${field}' to poll ${spec.poll} with`);
      const binding = Object.values(pollOp.args).find((b) => b.name === param && (b.in === 'path' || b.in === 'query'));
      parts[binding?.in === 'query' ? 'query' : 'path'][param] = value;
    }
    const timeout = options.timeout ?? 600_000;
    const interval = options.interval ?? 2_000;
    const deadline = Date.now() + timeout;
    const expired = new WaitTimeoutError(`${spec.poll}: the job was not finished after ${timeout} ms`, undefined);
    const timer = new AbortController();
    const handle = setTimeout(() => timer.abort(expired), timeout);
    const signal = options.signal ? AbortSignal.any([options.signal, timer.signal]) : timer.signal;
    let last: unknown;
    try {
      for (;;) {
        try {
          last = await this.request(spec.poll, parts, { signal });
        } catch (err) {
          if (err === expired) throw new WaitTimeoutError(expired.message, last);
          throw err;
        }
        options.onPoll?.(last);
        const status = getField(last, spec.statusField);
        if (typeof status === 'string' && spec.terminal.includes(status)) return last;
        if (Date.now() + interval > deadline) throw new WaitTimeoutError(expired.message, last);
        await sleep(interval, signal).catch((err: unknown) => {
          throw err === expired ? new WaitTimeoutError(expired.message, last) : err;
        });
      }
    } finally {
      clearTimeout(handle);
    }
  }

  /** Like `request`, but resolves to status, headers, body and request id. */
  async requestWithResponse(operationId: string, parts: RequestParts = {}, options: RequestOptions = {}): Promise<ApiResponse> {
    const op = this.operation(operationId);
    const auth = credentialsFor(op.security, this.#auth);
    // Error messages show the URL without its query (displayUrl), so an API key sent there stays out of them.
    const url = withAuthQuery(this.baseUrl + expandPath(op.path, parts.path ?? {}) + queryString(op, parts.query ?? {}), auth);
    const headers = new Headers({ accept: 'application/json, */*;q=0.5', 'user-agent': this.#userAgent, ...this.#headers });
    applyAuthHeaders(headers, auth);
    for (const [k, v] of Object.entries(parts.headers ?? {})) if (v != null) headers.set(k, String(v));
    for (const [k, v] of Object.entries(options.headers ?? {})) headers.set(k, v);
    if (op.idempotencyHeader && !headers.has(op.idempotencyHeader)) {
      // One key for every attempt of this call: that is what makes the retries safe.
      headers.set(op.idempotencyHeader, options.idempotencyKey ?? crypto.randomUUID());
    }
    let timer: AttemptTimer | undefined;
    const encoded = encodeBody(op, parts.body, headers);
    // A stream is read once, as it is sent: each chunk it gives restarts the attempt's clock.
    const stream = encoded instanceof ReadableStream ? progressStream(encoded, () => timer) : undefined;
    // A Blob, where fetch can stream with a length, goes as a fresh stream of it per attempt.
    const blobStream = encoded instanceof Blob && streamsWithLength();
    if (blobStream) headers.set('content-length', String(encoded.size));
    const bodyOfAttempt = () => stream ?? (blobStream ? progressStream((encoded as Blob).stream(), () => timer) : encoded);
    const retriable = isIdempotentCall(op) && !stream;
    const maxRetries = options.maxRetries ?? this.#maxRetries;
    const timeout = options.timeout ?? this.#timeout;
    // Else fetch reads a Blob out of sight: allow for sending all of it at the slowest rate accepted.
    const allowance = encoded instanceof Blob && !blobStream ? Math.ceil((encoded.size / this.#minUploadRate) * 1000) : 0;
    const what = `${op.method.toUpperCase()} ${displayUrl(url)}`;

    for (let attempt = 0; ; attempt++) {
      timer?.clear();
      timer = new AttemptTimer(timeout + allowance);
      const timeoutSignal = timer.signal;
      const signal = options.signal ? AbortSignal.any([options.signal, timeoutSignal]) : timeoutSignal;
      const body = bodyOfAttempt();
      let res: Response;
      let read: ReadBody;
      // Redirects are not followed: fetch would send the body, the idempotency key and any custom
      // headers to whatever host the Location names, and hand back that host's answer as the API's.
      const init: RequestInit & { duplex?: 'half' } = { method: op.method.toUpperCase(), headers, signal, redirect: 'manual' };
      if (body !== undefined) init.body = body;
      if (body instanceof ReadableStream) {
        init.duplex = 'half';
        // 'error', not 'manual': for any other mode Node 20's fetch tees a stream body to replay it
        // after a redirect, and the copy it never reads holds the whole upload in memory (undici#4058).
        init.redirect = 'error';
      }
      try {
        res = await this.#fetch(url, init);
        read = await readBody(res, this.#maxResponseBytes);
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason;
        timer.clear();
        if (init.redirect === 'error' && redirectRefused(err)) {
          throw new LavendlyError(`${what} was redirected, which the SDK does not follow (set baseUrl to the final address)`, { code: 'http_redirect', cause: err });
        }
        const error = timeoutSignal.aborted
          ? new TimeoutError(`${what} timed out after ${timer.ms} ms${body instanceof ReadableStream ? ' without progress' : ''}`, { code: 'timeout', cause: err })
          : new ConnectionError(`${what} failed: ${describe(err).split(url).join(displayUrl(url))}`, { code: 'connection_error', cause: err });
        // A request that never reached the server is always safe to repeat.
        if (attempt < maxRetries && (retriable || neverSent(err))) {
          await sleep(this.#backoff(attempt), options.signal);
          continue;
        }
        throw error;
      }
      timer.clear();
      const requestId = res.headers.get('x-request-id');
      if (res.type === 'opaqueredirect') {
        // A browser's manual redirect: no status, no Location to show.
        throw new LavendlyError(`${what} was redirected, which the SDK does not follow (set baseUrl to the final address)`, { code: 'http_redirect' });
      }
      if (read.kind === 'tooLarge') {
        throw new InvalidResponseError(`${what}: HTTP ${res.status} with a body over ${this.#maxResponseBytes} bytes (maxResponseBytes)`, {
          status: res.status, code: 'response_too_large', requestId, headers: res.headers,
        });
      }
      if (res.ok) {
        if (!documentedBody(op, read)) {
          const type = res.headers.get('content-type') || 'no content type';
          throw new InvalidResponseError(`${what}: HTTP ${res.status} answered ${read.kind === 'none' ? 'nothing' : `a body that is not JSON (${type})`} where the API documents JSON`, {
            status: res.status, code: 'invalid_response', requestId, headers: res.headers,
            details: typeof read.value === 'string' ? { body: read.value.slice(0, 500) } : {},
          });
        }
        if (read.kind === 'json' && read.beyondDouble) {
          const { path } = read.beyondDouble;
          throw new InvalidResponseError(`${what}: HTTP ${res.status} answered a number beyond a double (±1.8e308) at ${path}, which the SDK cannot represent`, {
            status: res.status, code: 'number_out_of_range', requestId, headers: res.headers, details: { path },
          });
        }
        const shape = read.kind === 'json' ? undocumentedShape(op, read.value) : null;
        if (shape) {
          throw new InvalidResponseError(`${what}: HTTP ${res.status} answered ${shape}`, {
            status: res.status, code: 'invalid_response', requestId, headers: res.headers,
          });
        }
        return { status: res.status, headers: res.headers, body: read.value, requestId };
      }
      const error = errorFromResponse(res.status, res.headers, errorBody(read), this.#errorClasses);
      if (attempt < maxRetries && shouldRetry(res.status, error.code, retriable)) {
        const wait = retryAfterMs(res.headers) ?? this.#backoff(attempt);
        if (wait <= this.#maxRetryAfter) {
          await sleep(wait, options.signal);
          continue;
        }
      }
      throw error;
    }
  }

  /**
   * Opens an upload slot with `openOperationId` and sends `file` to it with `spec.send`, whose
   * arguments come from the slot; resolves to what `spec.send` answers. The file's size, when it
   * can be known without reading it (or is given in `params`), is declared when the slot is
   * opened, so an oversized file fails before any byte is sent.
   */
  async uploadViaSlot(openOperationId: string, spec: UploadSlotSpec, file: UploadBody, params: Record<string, unknown>, options: RequestOptions = {}): Promise<unknown> {
    const open = { ...params };
    const size = bodySize(file);
    if (spec.size && open[spec.size] === undefined && size !== null) open[spec.size] = size;
    const name = (file as { name?: unknown }).name;
    if (spec.filename && open[spec.filename] === undefined && typeof name === 'string' && name) open[spec.filename] = name;
    // The key belongs to opening the slot; a slot takes one file, which makes sending idempotent.
    const sendOptions: RequestOptions = { ...options };
    delete sendOptions.idempotencyKey;
    const slot = await this.call(openOperationId, open, options);
    const sendParams: Record<string, unknown> = { [spec.bodyArg]: file };
    for (const [arg, field] of Object.entries(spec.args)) {
      const value = getField(slot, field);
      if (value === undefined) throw new InvalidResponseError(`${openOperationId}: the slot has no '${field}' for ${spec.send}`, { code: 'invalid_response' });
      sendParams[arg] = value;
    }
    const declared = spec.size ? open[spec.size] : undefined;
    // A stream's length is known only when the caller gave it; fetch then sends it as Content-Length.
    if (file instanceof ReadableStream && typeof declared === 'number') {
      sendOptions.headers = { 'content-length': String(declared), ...sendOptions.headers };
    }
    return this.call(spec.send, sendParams, sendOptions);
  }

  static {
    downloadContextOf = (client) => client.#downloadContext();
  }

  #downloadContext(): DownloadContext {
    return {
      fetch: this.#fetch,
      baseUrl: this.baseUrl,
      apiHeaders: () => {
        const headers = new Headers({ 'user-agent': this.#userAgent, ...this.#headers });
        // A link is not an operation: it gets the document's default credentials, never a query
        // key (that would change a signed link's query).
        applyAuthHeaders(headers, { ...credentialsFor(this.#downloadSecurity, this.#auth), query: [] });
        return headers;
      },
      userAgent: this.#userAgent,
      timeout: this.#timeout,
      maxRetries: this.#maxRetries,
      maxRetryAfter: this.#maxRetryAfter,
      backoff: (attempt) => this.#backoff(attempt),
      errorClasses: this.#errorClasses,
    };
  }

  /** Exponential backoff with jitter: a random delay between half and all of initial * 2^attempt. */
  #backoff(attempt: number): number {
    const ceiling = Math.min(this.#maxDelay, this.#initialDelay * 2 ** attempt);
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }
}

/** Safe methods, and any call carrying an idempotency key, may be repeated without side effects. */
function isIdempotentCall(op: OperationDescriptor): boolean {
  return op.idempotencyHeader !== null || ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'].includes(op.method.toUpperCase());
}

/**
 * A success body the caller can trust: JSON where the API documents JSON, and never JSON-labelled
 * text that does not parse. Where every documented success is JSON, a 204 is not one of them: it
 * would hand back `undefined` typed as the documented object.
 */
function documentedBody(op: OperationDescriptor, read: ReadBody): boolean {
  if (read.kind === 'text' && read.labelledJson) return false;
  return !op.responseJson || read.kind === 'json';
}

/**
 * What is wrong with a JSON success body where the API documents an object with `responseKeys`
 * (null when nothing is): code reading its fields would otherwise fail far from the call.
 */
function undocumentedShape(op: OperationDescriptor, body: unknown): string | null {
  const keys = op.responseKeys;
  if (!keys) return null;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return `${body === null ? 'null' : Array.isArray(body) ? 'a JSON array' : `a JSON ${typeof body}`} where the API documents an object`;
  }
  // Own keys: `constructor` or `toString` are found on any object's prototype.
  const missing = keys.filter((k) => !Object.prototype.hasOwnProperty.call(body, k));
  return missing.length ? `an object without ${missing.slice(0, 10).map((k) => `'${k}'`).join(', ')}, which the API documents` : null;
}

function shouldRetry(status: number, code: string, retriable: boolean): boolean {
  if (status === 429) return true; // rejected before any work was done
  if (code === 'idempotency_key_in_progress') return retriable;
  return retriable && status >= 500 && status !== 501;
}

/** fetch's failure for a redirect answered to `redirect: 'error'` (undici: 'unexpected redirect'). */
function redirectRefused(err: unknown): boolean {
  const cause = (err as { cause?: { message?: unknown } })?.cause;
  return typeof cause?.message === 'string' && /redirect/i.test(cause.message);
}

function neverSent(err: unknown): boolean {
  const code = (err as { cause?: { code?: unknown } })?.cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

/**
 * The URL as messages show it: without the query, which may carry a credential (an upload
 * token is one), and without user info. Error messages end up in logs.
 */
function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.search = '';
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    return url.split('?')[0]!;
  }
}
