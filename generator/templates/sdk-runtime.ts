/**
 * The SDK's hand-written core, copied verbatim into `generated/sdk-runtime.gen.ts` by the sdk emitter.
 * It knows nothing about any particular API: the generated client hands it a table of operation
 * descriptors, and it does the HTTP (fetch, no dependencies), retries, idempotency keys, timeouts,
 * typed errors, pagination, job polling and webhook verification.
 *
 * Only Node built-ins may be imported here: this file ships inside the generated SDK.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

// ----------------------------------------------------------------------------------------------
// Operation descriptors (generated per operation)

export type ArgLocation = 'path' | 'query' | 'header' | 'body';

/** Where one argument of a flattened input goes on the wire. */
export interface ArgBinding {
  in: ArgLocation;
  /** Name on the wire (parameter name, or body property name). */
  name: string;
  /** Query arrays: repeated keys (`true`, the OpenAPI default) or one comma-joined value. */
  explode?: boolean;
}

export interface AsyncJobDescriptor {
  /** operationId that polls the job. */
  poll: string;
  /** poll parameter name -> field (dotted path) of the job body. */
  args: Record<string, string>;
  statusField: string;
  terminal: string[];
}

export interface OperationDescriptor {
  method: string;
  /** Path template relative to the base URL: `/workflows/{id}`. */
  path: string;
  /** Flattened argument name -> wire location. Arguments not listed go into a 'flat' body. */
  args: Record<string, ArgBinding>;
  /** 'flat': object body built from the leftover arguments; 'single': one argument is the body. */
  bodyMode: 'none' | 'flat' | 'single';
  /** The argument holding the whole body when bodyMode is 'single'. */
  bodyArg?: string;
  bodyRequired: boolean;
  /** Request content type ('application/json', 'multipart/form-data', ...), null without a body. */
  contentType: string | null;
  /** Header carrying the idempotency key; non-null exactly for idempotent operations. */
  idempotencyHeader: string | null;
  pagination: 'cursor' | null;
  asyncJob: AsyncJobDescriptor | null;
}

// ----------------------------------------------------------------------------------------------
// Errors

export interface ValidationIssue {
  path: (string | number)[];
  message: string;
  code?: string;
  [key: string]: unknown;
}

/** Every error the SDK throws. `status` is 0 when no HTTP response was received. */
export class LavendlyError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | null;
  /** Every field of the error envelope besides code, message and request_id. */
  readonly details: Record<string, unknown>;
  readonly headers: Headers | null;
  constructor(
    message: string,
    init: { status?: number; code?: string; requestId?: string | null; details?: Record<string, unknown>; headers?: Headers | null; cause?: unknown } = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status ?? 0;
    this.code = init.code ?? 'unknown_error';
    this.requestId = init.requestId ?? null;
    this.details = init.details ?? {};
    this.headers = init.headers ?? null;
  }
}

/** 400/422: the request did not validate. `issues` are grouped by location (path, query, header, body). */
export class ValidationError extends LavendlyError {
  get issues(): Record<string, ValidationIssue[]> {
    const raw = this.details.issues;
    if (Array.isArray(raw)) return { body: raw as ValidationIssue[] };
    return raw && typeof raw === 'object' ? (raw as Record<string, ValidationIssue[]>) : {};
  }
  /** The issues as one list, each tagged with its location. */
  get issueList(): (ValidationIssue & { location: string })[] {
    return Object.entries(this.issues).flatMap(([location, list]) => (list ?? []).map((i) => ({ ...i, location })));
  }
}
export class AuthenticationError extends LavendlyError {}
export class PermissionError extends LavendlyError {}
export class NotFoundError extends LavendlyError {}
export class ConflictError extends LavendlyError {}
/** The idempotency key was reused with another body, is still in flight, or is malformed. */
export class IdempotencyError extends LavendlyError {}
export class InsufficientCreditsError extends LavendlyError {
  get needed(): number | undefined {
    return typeof this.details.needed === 'number' ? this.details.needed : undefined;
  }
  get available(): number | undefined {
    return typeof this.details.available === 'number' ? this.details.available : undefined;
  }
}
export class RateLimitError extends LavendlyError {
  /** Seconds the server asked us to wait, when it said. */
  get retryAfter(): number | undefined {
    const ms = retryAfterMs(this.headers);
    return ms === undefined ? undefined : ms / 1000;
  }
}
export class ServerError extends LavendlyError {}
/** No usable HTTP response: DNS, refused or reset connection, timeout. */
export class ConnectionError extends LavendlyError {}
export class TimeoutError extends ConnectionError {}
/** `waitFor…` gave up before the job reached a terminal state. `last` is the last polled body. */
export class WaitTimeoutError extends LavendlyError {
  constructor(
    message: string,
    readonly last: unknown,
  ) {
    super(message, { code: 'wait_timeout' });
  }
}

const errorClassByCode: Record<string, typeof LavendlyError> = {
  validation_error: ValidationError,
  invalid_cursor: ValidationError,
  unauthorized: AuthenticationError,
  forbidden: PermissionError,
  not_found: NotFoundError,
  conflict: ConflictError,
  idempotency_key_reused: IdempotencyError,
  idempotency_key_in_progress: IdempotencyError,
  invalid_idempotency_key: IdempotencyError,
  insufficient_credits: InsufficientCreditsError,
  rate_limited: RateLimitError,
};

function errorClassByStatus(status: number): typeof LavendlyError {
  if (status === 400 || status === 422) return ValidationError;
  if (status === 401) return AuthenticationError;
  if (status === 402) return InsufficientCreditsError;
  if (status === 403) return PermissionError;
  if (status === 404) return NotFoundError;
  if (status === 409) return ConflictError;
  if (status === 429) return RateLimitError;
  if (status >= 500) return ServerError;
  return LavendlyError;
}

/** Builds the typed error for a non-2xx response from its (parsed) body. */
export function errorFromResponse(status: number, headers: Headers, body: unknown): LavendlyError {
  const envelope = body && typeof body === 'object' && 'error' in body ? (body as { error: unknown }).error : undefined;
  const e = envelope && typeof envelope === 'object' ? (envelope as Record<string, unknown>) : {};
  const { code, message, request_id, ...details } = e;
  const codeStr = typeof code === 'string' ? code : `http_${status}`;
  const cls = errorClassByCode[codeStr] ?? errorClassByStatus(status);
  const text =
    typeof message === 'string' ? message : typeof body === 'string' && body ? body.slice(0, 500) : `HTTP ${status}`;
  const requestId = typeof request_id === 'string' ? request_id : headers.get('x-request-id');
  if (!envelope && body !== undefined && body !== '') details.body = body;
  return new cls(text, { status, code: codeStr, requestId, details, headers });
}

// ----------------------------------------------------------------------------------------------
// Client

export interface ClientOptions {
  /** Sent as `Authorization: Bearer <apiKey>`. Defaults to the `<PREFIX>_API_KEY` environment variable. */
  apiKey?: string;
  /** Defaults to the `<PREFIX>_BASE_URL` environment variable, else the spec's first server URL. */
  baseUrl?: string;
  /** Per-attempt timeout in milliseconds (default 60 000). */
  timeout?: number;
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
}

export interface RequestOptions {
  /** Idempotency key for idempotent operations; one is generated when absent. Reused on retries. */
  idempotencyKey?: string;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  timeout?: number;
  maxRetries?: number;
}

export interface RequestParts {
  path?: Record<string, unknown>;
  query?: Record<string, unknown>;
  headers?: Record<string, unknown>;
  body?: unknown;
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

/** Per-operation type facts the generated client supplies: its flattened params and its success body. */
export interface OperationTypes {
  params: unknown;
  response: unknown;
}

/** A body type with some properties renamed (flattened arguments that clash with a parameter). */
export type Renamed<B, M extends { [name: string]: string }> = { [K in keyof B as K extends keyof M ? M[K] : K]: B[K] };
/** An optional body left out: none of its properties given. */
export type NoBody<B> = { [K in keyof B]?: undefined };

export interface ClientDefaults {
  /** Used in User-Agent and messages. */
  name: string;
  version: string;
  baseUrl: string;
  /** Environment variable prefix: `LAVENDLY` -> LAVENDLY_API_KEY, LAVENDLY_BASE_URL. */
  envPrefix: string;
}

function env(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.[name] || undefined;
}

export class ApiClient<Ops extends { [K in keyof Ops]: OperationTypes } = Record<string, OperationTypes>> {
  readonly baseUrl: string;
  readonly #apiKey: string | undefined;
  readonly #timeout: number;
  readonly #maxRetries: number;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;
  readonly #initialDelay: number;
  readonly #maxDelay: number;
  readonly #maxRetryAfter: number;
  readonly #operations: Record<string, OperationDescriptor>;
  readonly #userAgent: string;

  constructor(operations: Record<string, OperationDescriptor>, options: ClientOptions, defaults: ClientDefaults) {
    this.#operations = operations;
    this.#apiKey = options.apiKey ?? env(`${defaults.envPrefix}_API_KEY`);
    this.baseUrl = (options.baseUrl ?? env(`${defaults.envPrefix}_BASE_URL`) ?? defaults.baseUrl).replace(/\/+$/, '');
    this.#timeout = options.timeout ?? 60_000;
    this.#maxRetries = options.maxRetries ?? 2;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#headers = { ...options.headers };
    this.#initialDelay = options.backoff?.initialDelay ?? 500;
    this.#maxDelay = options.backoff?.maxDelay ?? 8_000;
    this.#maxRetryAfter = options.maxRetryAfter ?? 60_000;
    this.#userAgent = `${defaults.name}-sdk/${defaults.version}`;
  }

  /** The descriptor of an operation (throws on an unknown id). */
  operation(operationId: string): OperationDescriptor {
    const op = this.#operations[operationId];
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
    const url = this.baseUrl + expandPath(op.path, parts.path ?? {}) + queryString(op, parts.query ?? {});
    const headers = new Headers({ accept: 'application/json, */*;q=0.5', 'user-agent': this.#userAgent, ...this.#headers });
    if (this.#apiKey) headers.set('authorization', `Bearer ${this.#apiKey}`);
    for (const [k, v] of Object.entries(parts.headers ?? {})) if (v != null) headers.set(k, String(v));
    for (const [k, v] of Object.entries(options.headers ?? {})) headers.set(k, v);
    if (op.idempotencyHeader && !headers.has(op.idempotencyHeader)) {
      // One key for every attempt of this call: that is what makes the retries safe.
      headers.set(op.idempotencyHeader, options.idempotencyKey ?? randomUUID());
    }
    const body = encodeBody(op, parts.body, headers);
    const retriable = isIdempotentCall(op) && !(body instanceof ReadableStream);
    const maxRetries = options.maxRetries ?? this.#maxRetries;
    const timeout = options.timeout ?? this.#timeout;

    for (let attempt = 0; ; attempt++) {
      const timeoutSignal = AbortSignal.timeout(timeout);
      const signal = options.signal ? AbortSignal.any([options.signal, timeoutSignal]) : timeoutSignal;
      let res: Response;
      let parsed: unknown;
      try {
        const init: RequestInit & { duplex?: 'half' } = { method: op.method.toUpperCase(), headers, signal };
        if (body !== undefined) init.body = body;
        if (body instanceof ReadableStream) init.duplex = 'half';
        res = await this.#fetch(url, init);
        parsed = await readBody(res);
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason;
        const error = timeoutSignal.aborted
          ? new TimeoutError(`${op.method.toUpperCase()} ${url} timed out after ${timeout} ms`, { code: 'timeout', cause: err })
          : new ConnectionError(`${op.method.toUpperCase()} ${url} failed: ${describe(err)}`, { code: 'connection_error', cause: err });
        // A request that never reached the server is always safe to repeat.
        if (attempt < maxRetries && (retriable || neverSent(err))) {
          await sleep(this.#backoff(attempt), options.signal);
          continue;
        }
        throw error;
      }
      if (res.ok) return { status: res.status, headers: res.headers, body: parsed, requestId: res.headers.get('x-request-id') };
      const error = errorFromResponse(res.status, res.headers, parsed);
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

function shouldRetry(status: number, code: string, retriable: boolean): boolean {
  if (status === 429) return true; // rejected before any work was done
  if (code === 'idempotency_key_in_progress') return retriable;
  return retriable && status >= 500 && status !== 501;
}

function neverSent(err: unknown): boolean {
  const code = (err as { cause?: { code?: unknown } })?.cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  return err instanceof Error ? err.message : String(err);
}

/** `Retry-After-Ms`, or `Retry-After` as seconds or an HTTP date, in milliseconds. */
export function retryAfterMs(headers: Headers | null | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (!value) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// ----------------------------------------------------------------------------------------------
// Request building

/** Flattened params -> `{ path, query, headers, body }` by the operation's argument table. */
export function splitParams(operationId: string, op: OperationDescriptor, params: unknown): RequestParts {
  const parts = { path: {} as Record<string, unknown>, query: {} as Record<string, unknown>, headers: {} as Record<string, unknown> };
  const flat: Record<string, unknown> = {};
  let body: unknown;
  let hasBody = false;
  for (const [key, value] of Object.entries((params ?? {}) as Record<string, unknown>)) {
    if (value === undefined) continue;
    const binding = op.args[key];
    if (binding?.in === 'body' && op.bodyMode === 'single') {
      body = value;
      hasBody = true;
    } else if (binding && binding.in !== 'body') {
      parts[binding.in === 'header' ? 'headers' : binding.in][binding.name] = value;
    } else if (op.bodyMode === 'flat') {
      flat[binding?.name ?? key] = value;
      hasBody = true;
    } else {
      throw new TypeError(`${operationId}: unknown argument '${key}'`);
    }
  }
  if (op.bodyMode === 'flat' && (hasBody || op.bodyRequired)) body = flat;
  return hasBody || op.bodyRequired ? { ...parts, body } : parts;
}

function expandPath(template: string, values: Record<string, unknown>): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined || value === null) throw new TypeError(`missing path parameter '${name}' for ${template}`);
    return encodeURIComponent(scalar(value));
  });
}

function scalar(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

function queryString(op: OperationDescriptor, values: Record<string, unknown>): string {
  const search = new URLSearchParams();
  const explodeOf = (name: string) => Object.values(op.args).find((b) => b.in === 'query' && b.name === name)?.explode ?? true;
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      if (explodeOf(name)) for (const v of value) search.append(name, scalar(v));
      else search.append(name, value.map(scalar).join(','));
    } else if (typeof value === 'object' && !(value instanceof Date)) {
      // form style, exploded: each property becomes its own parameter
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v != null) search.append(k, scalar(v));
    } else {
      search.append(name, scalar(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

function encodeBody(op: OperationDescriptor, body: unknown, headers: Headers): RequestInit['body'] {
  if (body === undefined) return undefined;
  const type = op.contentType ?? 'application/json';
  if (
    typeof body === 'string' ||
    body instanceof Uint8Array ||
    body instanceof ArrayBuffer ||
    body instanceof Blob ||
    body instanceof ReadableStream ||
    body instanceof URLSearchParams ||
    body instanceof FormData
  ) {
    if (!(body instanceof FormData) && !headers.has('content-type')) headers.set('content-type', type);
    return body as RequestInit['body'];
  }
  if (type.startsWith('multipart/form-data')) {
    const form = new FormData();
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      if (v === undefined || v === null) continue;
      for (const item of Array.isArray(v) ? v : [v]) form.append(k, item instanceof Blob ? item : scalar(item));
    }
    return form;
  }
  if (type === 'application/x-www-form-urlencoded') {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) if (v != null) search.append(k, scalar(v));
    headers.set('content-type', type);
    return search;
  }
  if (!headers.has('content-type')) headers.set('content-type', /json/i.test(type) ? type : 'application/json');
  return JSON.stringify(body);
}

async function readBody(res: Response): Promise<unknown> {
  if (res.status === 204 || res.status === 205 || res.status === 304) {
    await res.body?.cancel();
    return undefined;
  }
  const type = res.headers.get('content-type') ?? '';
  if (/[/+]json\b/i.test(type)) {
    const text = await res.text();
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  if (type.startsWith('text/') || type === '') return await res.text();
  return await res.blob();
}

function getField(value: unknown, path: string): unknown {
  let cur = value;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

// ----------------------------------------------------------------------------------------------
// Pagination

export type PageItem<P> = P extends { data: (infer I)[] } ? I : P extends { data: readonly (infer I)[] } ? I : unknown;

/**
 * The first page when awaited; every item of every page when iterated with `for await`.
 * Requests are lazy: nothing is sent until the promise is awaited or the iteration starts.
 */
export class PagePromise<Page, Item> implements PromiseLike<Page>, AsyncIterable<Item> {
  #first: Promise<Page> | undefined;
  constructor(private readonly fetchPage: (cursor: string | null) => Promise<unknown>) {}

  #firstPage(): Promise<Page> {
    return (this.#first ??= this.fetchPage(null) as Promise<Page>);
  }

  then<A = Page, B = never>(onfulfilled?: ((value: Page) => A | PromiseLike<A>) | null, onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.#firstPage().then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<Page | B> {
    return this.#firstPage().catch(onrejected);
  }

  /** Every page, following `next_cursor` while `has_more`. */
  async *pages(): AsyncGenerator<Page, void, undefined> {
    let page = (await this.#firstPage()) as { next_cursor?: unknown; has_more?: unknown };
    const seen = new Set<string>();
    for (;;) {
      yield page as Page;
      const next = page?.next_cursor;
      if (page?.has_more === false || typeof next !== 'string' || next === '') return;
      if (seen.has(next)) throw new LavendlyError(`the server returned cursor '${next}' twice`, { code: 'pagination_loop' });
      seen.add(next);
      page = (await this.fetchPage(next)) as typeof page;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    for await (const page of this.pages()) {
      const data = (page as { data?: unknown })?.data;
      if (Array.isArray(data)) yield* data as Item[];
    }
  }

  /** Collects every item (mind the size of the list). */
  async toArray(): Promise<Item[]> {
    const all: Item[] = [];
    for await (const item of this) all.push(item);
    return all;
  }
}

// ----------------------------------------------------------------------------------------------
// Webhooks (Standard Webhooks: https://www.standardwebhooks.com/)

export class WebhookVerificationError extends LavendlyError {
  constructor(message: string) {
    super(message, { code: 'webhook_verification_failed' });
  }
}

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v.join(' ') : v;
  }
  return undefined;
}

function secretBytes(secret: string | Uint8Array): Buffer {
  if (typeof secret !== 'string') return Buffer.from(secret);
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.payload">` */
export function signWebhook(secret: string | Uint8Array, id: string, timestamp: number, payload: string | Uint8Array): string {
  const mac = createHmac('sha256', secretBytes(secret));
  mac.update(`${id}.${timestamp}.`);
  mac.update(payload);
  return `v1,${mac.digest('base64')}`;
}

/**
 * Verifies a webhook delivery and returns its parsed JSON payload. Pass the raw body exactly as
 * received. Throws WebhookVerificationError on a missing header, a bad signature, or a timestamp
 * more than `toleranceSeconds` (default 300) away from now.
 */
export function verifyWebhook<T = unknown>(
  payload: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string | Uint8Array,
  options: { toleranceSeconds?: number; now?: Date | number } = {},
): T {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature header');
  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError('invalid webhook-timestamp');
  const now = Math.floor(Number(options.now ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  const ts = Number(timestamp);
  if (ts < now - tolerance) throw new WebhookVerificationError('webhook timestamp too old');
  if (ts > now + tolerance) throw new WebhookVerificationError('webhook timestamp too new');
  const expected = Buffer.from(signWebhook(secret, id, ts, payload).slice('v1,'.length));
  const ok = signatures.split(' ').some((entry) => {
    const [version, sig] = entry.split(',', 2);
    if (version !== 'v1' || !sig) return false;
    const given = Buffer.from(sig);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!ok) throw new WebhookVerificationError('no matching webhook signature');
  const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new WebhookVerificationError('webhook payload is not JSON');
  }
}
