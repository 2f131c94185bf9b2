/**
 * Outbound HTTP to hosted model providers: JSON calls with retries, polling with a deadline, and
 * downloads of results under a size limit.
 *
 * - Every request has its own timeout and follows the caller's abort signal; failures are
 *   promises that reject (undici's fetch), never errors emitted on a socket nobody listens to.
 * - 429 (honouring Retry-After, capped) and 5xx are retried with jittered exponential backoff, as
 *   are network errors; a submission (POST) is retried only when the provider said it did not take
 *   it (429, 503) or it never reached the provider (connection refused, no such host), so a retry
 *   never pays for a second task.
 * - A submission that may have been accepted (a 5xx or a cut connection after it was sent, a
 *   timeout, an answer that cannot be read) is not transient: the job queue must not run the step
 *   again and submit again. The scene fails retryable, and the customer decides to pay again.
 * - Secrets (API keys) are redacted from every message this module builds, so they cannot reach a
 *   log or an answer even if a provider echoes them.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProviderError } from '../media/index.js';
import { boundedText } from '../net/bounded-text.js';
import { TransferError, writeLimited } from '../net/limited-write.js';
import { RequestGuard } from './guard.js';
import { monotonicNow } from '../db/cluster-time.js';
import { retryAfterMs } from './retry-after.js';

export interface ProviderClientOptions {
  /** Model id for errors (`runway:gen4_turbo`). */
  provider: string;
  /** Headers on every call (authorisation, versions). Never logged. */
  headers: Record<string, string>;
  /** Values to blank out of any message (the API key). */
  secrets: string[];
  /** Per-request timeout of a JSON call, headers and body (default 60 s). */
  timeoutMs?: number;
  /** A download's body may take as long as it needs, but no byte for this long aborts it (default 60 s). */
  idleTimeoutMs?: number;
  /** Retries after the first try (default 5). */
  retries?: number;
  /** First backoff (default 1 s), doubled per retry, capped at 30 s. */
  backoffMs?: number;
}

export interface CallOptions {
  method?: 'GET' | 'POST';
  /** JSON-serialised when not FormData. */
  body?: unknown;
  signal?: AbortSignal;
  /** Epoch ms after which no retry is started and a request in flight is aborted. */
  deadlineAt?: number;
  /** Without the client's headers (a result URL the provider handed out: never send it our key). */
  bare?: boolean;
  /** Largest JSON answer read (default MAX_JSON_BYTES). */
  maxJsonBytes?: number;
  /** Hand a 3xx back to the caller (a download, which vets where it leads) instead of failing. */
  redirects?: boolean;
}

const isRedirect = (status: number) => status >= 300 && status < 400;

/** A provider answered with a status we do not retry (or stopped retrying). */
export class ProviderHttpError extends ProviderError {
  constructor(provider: string, readonly status: number, readonly body: unknown, message: string, opts: { transient: boolean; retryable?: boolean; code?: string }) {
    super(provider, message, opts);
    this.name = 'ProviderHttpError';
  }
}

/** Statuses by which a provider says it did not take a submission (502 and 504 come from a proxy that may have passed it on). */
const SUBMIT_SAFE = new Set([429, 503]);
/**
 * The most of a JSON answer read into memory. Control answers (a task, its status, a review) are
 * a few KB; parsing tens of MB would cost hundreds of MB of memory per request, so more than this
 * is a bad answer. Calls whose answer carries a result inline (OpenAI Images' base64 picture) pass
 * their own `maxJsonBytes`; downloads have their own limit.
 */
export const MAX_JSON_BYTES = 2 * 1024 * 1024;
/** The most of an error body read: enough for the provider's message. */
const MAX_ERROR_BYTES = 64 * 1024;

/** The human message inside a provider's error body (OpenAI `error.message`, Runway `error`, fal `detail`). */
export function errorMessageOf(body: unknown): string | null {
  if (!body || typeof body !== 'object') return typeof body === 'string' && body ? body.slice(0, 500) : null;
  const b = body as Record<string, unknown>;
  const err = b.error;
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  if (typeof err === 'string') return err;
  if (typeof b.detail === 'string') return b.detail;
  if (Array.isArray(b.detail)) return b.detail.map((d) => (d && typeof d === 'object' && 'msg' in d ? String(d.msg) : JSON.stringify(d))).join('; ');
  if (typeof b.message === 'string') return b.message;
  return null;
}

/** The request never reached the provider: nothing can have been accepted. */
function neverConnected(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } })?.cause;
  return ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].includes(cause?.code ?? '');
}

/** Words of an error about our key or account rather than the request. */
const CREDENTIAL_WORDS = /api[ _-]?key|unauthori[sz]ed|authenticat|billing|quota|insufficient[ _-]?(credits|funds)|organization/i;

/** What a failed submission adds to its message: why it is not sent again by itself. */
const MAYBE_ACCEPTED = '; it may have been accepted, so it was not submitted again';

export class ProviderClient {
  constructor(private readonly o: ProviderClientOptions) {}

  get provider(): string {
    return this.o.provider;
  }

  /** Blank out every secret in a text. */
  redact(text: string): string {
    let out = text;
    for (const s of this.o.secrets) if (s) out = out.split(s).join('[redacted]');
    return out;
  }

  fail(message: string, opts: { transient: boolean; retryable?: boolean; code?: string; cause?: unknown }): ProviderError {
    return new ProviderError(this.o.provider, this.redact(message), opts);
  }

  /**
   * A request that failed without a status (network, a limit of its guard): the caller's abort as
   * is, the task's deadline as provider_timeout, anything else as provider_unavailable.
   */
  private lost(err: unknown, guard: RequestGuard, method: string, url: string, opts: CallOptions, doing = ''): unknown {
    if (opts.signal?.aborted) return opts.signal.reason;
    const fired = guard.fired;
    if (fired?.kind === 'deadline') {
      return this.fail(`${doing}${method} ${this.where(url)} was still unanswered at the task's deadline`, { transient: false, retryable: true, code: 'provider_timeout', cause: err });
    }
    const why = fired ? `timed out (${fired.message})` : `failed: ${(err as Error)?.message ?? String(err)}`;
    const submit = method !== 'GET' && !neverConnected(err);
    return this.fail(`${doing}${method} ${this.where(url)} ${why}${submit ? MAYBE_ACCEPTED : ''}`, { transient: !submit, retryable: true, code: 'provider_unavailable', cause: err });
  }

  /**
   * One call with retries. Answers the parsed JSON body of a 2xx; throws ProviderHttpError for
   * other statuses (after retries for 429/5xx), a transient ProviderError for network failures.
   * The per-request timeout covers reading the body too.
   */
  async json<T = unknown>(url: string, opts: CallOptions = {}): Promise<T> {
    const { res, guard, method } = await this.exchange(url, opts);
    const limit = opts.maxJsonBytes ?? MAX_JSON_BYTES;
    const text = await boundedText(res, limit).catch((err: unknown) => {
      throw this.lost(err, guard, method, url, opts, 'reading the answer to ');
    }).finally(() => guard.done());
    if (text === null) {
      throw this.fail(`${this.o.provider} answered more than ${limit} bytes of JSON`, { transient: false, retryable: true, code: 'provider_bad_response' });
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      throw this.fail(`${this.o.provider} answered ${res.status} with a body that is not JSON`, { transient: false, retryable: true, code: 'provider_bad_response' });
    }
    // Every answer we read is a JSON object; `null`, a number or a list must not reach the
    // adapters' field reads as a TypeError (a 500 to the client, a rerun of the job).
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw this.fail(`${this.o.provider} answered ${res.status} with JSON that is not an object`, { transient: false, retryable: true, code: 'provider_bad_response' });
    }
    return parsed as T;
  }

  /**
   * The request with retries: the successful response unread, with the guard that still bounds
   * reading it (the caller ends it with `done()`).
   */
  private async exchange(url: string, opts: CallOptions): Promise<{ res: Response; guard: RequestGuard; method: string }> {
    const method = opts.method ?? (opts.body === undefined ? 'GET' : 'POST');
    const retries = this.o.retries ?? 5;
    const isForm = opts.body instanceof FormData;
    const headers: Record<string, string> = opts.bare ? {} : { accept: 'application/json', ...this.o.headers };
    if (opts.body !== undefined && !isForm) headers['content-type'] = 'application/json';
    const body = opts.body === undefined ? undefined : isForm ? (opts.body as FormData) : JSON.stringify(opts.body);
    for (let attempt = 0; ; attempt++) {
      const guard = new RequestGuard(opts.signal, this.o.timeoutMs ?? 60_000, opts.deadlineAt);
      let res: Response | null = null;
      let failure: unknown = null;
      try {
        // Never followed here: a redirect would carry our key and the submission to wherever it points.
        res = await fetch(url, { method, headers, body, redirect: 'manual', signal: guard.signal });
      } catch (err) {
        guard.done();
        if (opts.signal?.aborted) throw opts.signal.reason;
        failure = err;
      }
      if (res && (res.ok || (opts.redirects && isRedirect(res.status) && res.headers.has('location')))) return { res, guard, method };
      if (res && isRedirect(res.status)) {
        await res.body?.cancel().catch(() => {});
        guard.done();
        const to = res.headers.get('location');
        throw this.fail(`${this.o.provider} answered ${method} ${this.where(url)} with a redirect (${res.status}${to ? ` to ${this.where(to, url)}` : ''}); API calls do not follow redirects`, {
          transient: false, retryable: true, code: 'provider_bad_response',
        });
      }
      const retriable = guard.fired?.kind !== 'deadline' && (res
        ? method === 'GET' ? res.status === 429 || res.status >= 500 : SUBMIT_SAFE.has(res.status)
        : method === 'GET' || neverConnected(failure));
      const wait = res ? (retryAfterMs(res.headers.get('retry-after')) ?? this.backoff(attempt)) : this.backoff(attempt);
      const late = opts.deadlineAt !== undefined && monotonicNow() + wait > opts.deadlineAt;
      if (!retriable || attempt >= retries || late) {
        if (!res) throw this.lost(failure, guard, method, url, opts);
        try {
          throw await this.statusError(res, method, url);
        } finally {
          guard.done();
        }
      }
      await res?.body?.cancel().catch(() => {});
      guard.done();
      await sleep(wait, undefined, { signal: opts.signal });
    }
  }

  private backoff(attempt: number): number {
    const base = (this.o.backoffMs ?? 1000) * 2 ** attempt;
    return Math.min(30_000, base) * (0.75 + Math.random() * 0.5);
  }

  /** Host and path only: never a query string (fal and signed URLs carry tokens there). */
  private where(url: string, base?: string): string {
    try {
      const u = new URL(url, base);
      return `${u.host}${u.pathname}`;
    } catch {
      return 'the provider';
    }
  }

  private async statusError(res: Response, method: string, url: string): Promise<ProviderHttpError> {
    const text = (await boundedText(res, MAX_ERROR_BYTES).catch(() => '')) ?? '';
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch { /* not JSON: keep the text */ }
    const said = errorMessageOf(body);
    const s = res.status;
    const submit = method !== 'GET';
    const maybeAccepted = submit && s >= 500 && !SUBMIT_SAFE.has(s);
    const message = this.redact(`${this.o.provider} answered ${res.status} to ${method} ${this.where(url)}${said ? `: ${said}` : ''}${maybeAccepted ? MAYBE_ACCEPTED : ''}`);
    // A submission's retries were the client's: the job queue must not multiply them (transient: false).
    if (s === 429 || s >= 500) {
      return new ProviderHttpError(this.o.provider, s, body, message, { transient: !submit, retryable: true, code: s === 429 ? 'provider_rate_limited' : 'provider_unavailable' });
    }
    // Some APIs answer a bad key or an unpaid account with a plain 400: the operator's problem, not the prompt's.
    if (s === 401 || s === 403 || (s === 400 && CREDENTIAL_WORDS.test(said ?? ''))) {
      return new ProviderHttpError(this.o.provider, s, body, message, { transient: false, retryable: true, code: 'provider_auth' });
    }
    return new ProviderHttpError(this.o.provider, s, body, message, { transient: false, retryable: false, code: 'provider_rejected' });
  }

  /**
   * GETs `url` into `destPath` (atomically, at most `maxBytes`). The per-request timeout bounds
   * the wait for headers; the body then may take as long as bytes keep arriving (an idle limit,
   * not a total one: a real clip on a slow link takes minutes), within the task's deadline. A
   * redirect is answered, not followed: the caller decides whether its target may be fetched.
   */
  async download(url: string, destPath: string, maxBytes: number, opts: CallOptions = {}): Promise<{ bytes: number } | { redirect: URL }> {
    const { res, guard, method } = await this.exchange(url, { ...opts, redirects: true });
    try {
      if (isRedirect(res.status)) {
        await res.body?.cancel().catch(() => {});
        try {
          return { redirect: new URL(res.headers.get('location')!, url) };
        } catch {
          throw this.fail(`${this.o.provider} redirected the download to something that is not a URL`, { transient: false, retryable: true, code: 'provider_bad_response' });
        }
      }
      if (!res.body) throw this.fail(`${this.o.provider} answered an empty body`, { transient: false, retryable: true, code: 'provider_bad_response' });
      const declared = Number(res.headers.get('content-length') ?? NaN);
      if (declared > maxBytes) {
        await res.body.cancel().catch(() => {});
        throw this.fail(`${this.o.provider} offered ${declared} bytes; the limit is ${maxBytes}`, { transient: false, retryable: true, code: 'provider_bad_response' });
      }
      const idleMs = this.o.idleTimeoutMs ?? 60_000;
      guard.arm('idle', idleMs);
      try {
        const source = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
        const written = await writeLimited(source, destPath, { maxBytes, signal: guard.signal, admit: () => guard.arm('idle', idleMs) });
        return { bytes: written.bytes };
      } catch (err) {
        if (err instanceof TransferError && err.reason === 'too_large') {
          throw this.fail(`${this.o.provider} delivered more than ${maxBytes} bytes`, { transient: false, retryable: true, code: 'provider_bad_response', cause: err });
        }
        throw this.lost(err, guard, method, url, opts, 'downloading the result: ');
      }
    } finally {
      guard.done();
    }
  }
}

export interface PollOptions {
  /** First wait between polls; it grows by half each time up to 10x. */
  pollMs: number;
  deadlineAt: number;
  signal?: AbortSignal;
  /** What times out, for the message. */
  what: string;
  client: ProviderClient;
}

/** Polls `check` until it answers a value; past the deadline, a non-transient but retryable failure. */
export async function pollUntil<T>(o: PollOptions, check: () => Promise<T | null>): Promise<T> {
  let wait = o.pollMs;
  for (;;) {
    const done = await check();
    if (done !== null) return done;
    const left = o.deadlineAt - monotonicNow();
    if (left <= 0) {
      throw o.client.fail(`${o.what} did not finish within its deadline`, { transient: false, retryable: true, code: 'provider_timeout' });
    }
    await sleep(Math.min(wait, left), undefined, { signal: o.signal });
    wait = Math.min(wait * 1.5, o.pollMs * 10);
  }
}
