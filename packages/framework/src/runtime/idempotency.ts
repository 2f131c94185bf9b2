/**
 * Idempotency keys over a storage interface: the first request with a key claims it and runs;
 * its answer is stored and replayed to every retry within the window; a different request with
 * the same key is refused (409), as is a retry while the first still runs. Stores: the memory one
 * below (one process) and the Knex one in `@lavendly/framework/knex` (any number of processes).
 */
import crypto from 'node:crypto';
import type Koa from 'koa';
import type { BodyState } from './body.js';
import { ApiError, toIssue } from './errors.js';
import { renderError, toApiError, type InternalErrorLogger } from './envelope.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
const MAX_KEY_LENGTH = 255;
/** Printable ASCII only: keys end up in logs and indexes. */
const KEY_SHAPE = /^[\x21-\x7e]+$/;

/** Response headers that belong to one delivery, not to the stored response. */
const NOT_STORED = new Set([
  'x-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after',
  'date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', REPLAYED_HEADER.toLowerCase(),
]);

export type Claim =
  /** `effect`: on a takeover, what the dead run recorded with its write (see `IdempotentRun`). */
  | { kind: 'claimed'; rowId: string; token: string; effect?: string | null }
  | { kind: 'replay'; status: number; headers: Record<string, string>; body: string | null }
  | { kind: 'reused' }
  | { kind: 'in_progress' };

/**
 * The claim a request runs under, on `ctx.state.idempotency` while its handler runs (absent
 * without an Idempotency-Key). A write and its stored answer are two steps: a process that dies
 * between them leaves the write done and the key unanswered, and the retry that takes the claim
 * over would write again. A store that can (`KnexIdempotencyStore.recordEffect`) records what the
 * write made, in the write's own transaction; the retry then finds it in `effect` and answers with
 * that instead of writing a second time.
 */
export interface IdempotentRun {
  readonly rowId: string;
  readonly token: string;
  /** What an earlier run of this key recorded before its process died; null when nothing. */
  readonly effect: string | null;
}

/** The request's `IdempotentRun`, or null when it came without an Idempotency-Key. */
export function idempotentRunOf(ctx: Koa.Context): IdempotentRun | null {
  return (ctx.state as { idempotency?: IdempotentRun }).idempotency ?? null;
}

/** Where claims and answers live. `scope` separates tenants (an account id, or '' for none). */
export interface IdempotencyStore {
  claim(scope: string, operationId: string, key: string, requestHash: string): Promise<Claim>;
  /** Extends a running claim; false when it is no longer ours. */
  renew(rowId: string, token: string): Promise<boolean>;
  complete(rowId: string, token: string, status: number, headers: Record<string, string>, body: string | null): Promise<boolean>;
  release(rowId: string, token: string): Promise<void>;
  /** How long a claim holds without renewal (the layer renews every third of it). */
  readonly leaseMs: number;
}

interface MemoryRow {
  id: string;
  hash: string;
  token: string | null;
  lockedUntil: number;
  expiresAt: number;
  answer: { status: number; headers: Record<string, string>; body: string | null } | null;
}

/** Keys in this process's memory: for tests and single-process apps. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly rows = new Map<string, MemoryRow>();
  private readonly byId = new Map<string, string>();
  readonly leaseMs: number;
  private readonly windowMs: number;

  constructor(opts: { windowS?: number; leaseS?: number } = {}) {
    this.windowMs = (opts.windowS ?? 86_400) * 1000;
    this.leaseMs = Math.min(this.windowMs, (opts.leaseS ?? 30) * 1000);
  }

  async claim(scope: string, operationId: string, key: string, requestHash: string): Promise<Claim> {
    const k = JSON.stringify([scope, operationId, key]);
    const now = Date.now();
    const row = this.rows.get(k);
    if (row && row.expiresAt > now) {
      if (row.hash !== requestHash) return { kind: 'reused' };
      if (row.answer) return { kind: 'replay', ...row.answer };
      if (row.lockedUntil >= now) return { kind: 'in_progress' };
    }
    const fresh: MemoryRow = { id: crypto.randomUUID(), hash: requestHash, token: crypto.randomBytes(12).toString('hex'), lockedUntil: now + this.leaseMs, expiresAt: now + this.windowMs, answer: null };
    if (row) this.byId.delete(row.id);
    this.rows.set(k, fresh);
    this.byId.set(fresh.id, k);
    return { kind: 'claimed', rowId: fresh.id, token: fresh.token! };
  }

  private owned(rowId: string, token: string): MemoryRow | null {
    const k = this.byId.get(rowId);
    const row = k === undefined ? undefined : this.rows.get(k);
    return row && row.token === token && !row.answer ? row : null;
  }

  async renew(rowId: string, token: string): Promise<boolean> {
    const row = this.owned(rowId, token);
    if (row) row.lockedUntil = Date.now() + this.leaseMs;
    return row !== null;
  }

  async complete(rowId: string, token: string, status: number, headers: Record<string, string>, body: string | null): Promise<boolean> {
    const row = this.owned(rowId, token);
    if (!row) return false;
    row.answer = { status, headers, body };
    row.token = null;
    row.expiresAt = Date.now() + this.windowMs;
    return true;
  }

  async release(rowId: string, token: string): Promise<void> {
    const k = this.byId.get(rowId);
    if (k !== undefined && this.rows.get(k)?.token === token) {
      this.rows.delete(k);
      this.byId.delete(rowId);
    }
  }
}

/** JSON with object keys sorted, so key order and whitespace do not make a "different" body. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** What makes two requests "the same": method, path, query and the body's content. */
export function requestFingerprint(ctx: Koa.Context): string {
  const state = ctx.state as BodyState;
  const h = crypto.createHash('sha256');
  h.update(`${ctx.method} ${ctx.path}?${ctx.querystring}\n`);
  if (state.hasJsonBody) h.update('json\n' + canonicalJson(state.jsonBody));
  else if (state.rawBody) h.update('raw\n').update(state.rawBody);
  return h.digest('hex');
}

export function validateIdempotencyKey(key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || !KEY_SHAPE.test(key)) {
    throw new ApiError('invalid_idempotency_key', `The Idempotency-Key header must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters.`, {
      issues: { header: [toIssue({ path: ['Idempotency-Key'], message: 'invalid idempotency key', code: 'invalid_format' })] },
    });
  }
}

/** Where the layer reports what no response shows (pino's `logger.warn(obj, msg)` shape fits). */
export interface IdempotencyLog {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface IdempotencyLayerOptions {
  store: IdempotencyStore;
  /** The tenant a key belongs to (runs after authentication); default '' (one key space). */
  scope?: (ctx: Koa.Context) => string;
  logInternal?: InternalErrorLogger;
  /** Told when a claim is lost or cannot be renewed, completed or released; default: silent. */
  log?: IdempotencyLog;
}

/**
 * Runs `serve` under the request's Idempotency-Key, if it sent one. Needs the body already read
 * (it is part of the fingerprint). 4xx answers are stored like any other; 5xx, streams and
 * binary bodies release the key so a retry runs again.
 */
export async function withIdempotency(ctx: Koa.Context, operationId: string, opts: IdempotencyLayerOptions, serve: () => Promise<void>): Promise<void> {
  const raw = ctx.headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return serve();
  const key = Array.isArray(raw) ? raw.join(',') : raw;
  validateIdempotencyKey(key);
  const { store } = opts;
  const claim = await store.claim(opts.scope?.(ctx) ?? '', operationId, key, requestFingerprint(ctx));
  if (claim.kind === 'reused') {
    throw new ApiError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request; use a new key for a new request.');
  }
  if (claim.kind === 'in_progress') {
    throw new ApiError('idempotency_key_in_progress', 'A request with this Idempotency-Key is still running; retry after it finishes.', {}, { 'Retry-After': '1' });
  }
  if (claim.kind === 'replay') {
    ctx.set(claim.headers);
    ctx.set(REPLAYED_HEADER, 'true');
    ctx.body = claim.body;
    ctx.status = claim.status; // after the body: a null body resets the status to 204 in Koa
    return;
  }
  const run: IdempotentRun = { rowId: claim.rowId, token: claim.token, effect: claim.effect ?? null };
  (ctx.state as { idempotency?: IdempotentRun }).idempotency = run;
  const { log } = opts;
  // Renewed every third of a lease while the request runs: the claim lasts as long as the
  // request, however long, while a crashed process's claim runs out one lease after its last renewal.
  const timer = setInterval(() => {
    store.renew(claim.rowId, claim.token).then(
      (ours) => {
        if (ours) return;
        log?.warn({ row: claim.rowId, operation: operationId }, 'idempotency claim lost while the request ran');
        clearInterval(timer);
      },
      (err) => log?.warn({ err, operation: operationId }, 'idempotency claim renewal failed'),
    );
  }, Math.max(10, store.leaseMs / 3));
  timer.unref();
  try {
    await serve();
  } catch (err) {
    const apiError = toApiError(err);
    if (!apiError || apiError.status >= 500) {
      await store.release(claim.rowId, claim.token).catch((e) => log?.error({ err: e, operation: operationId }, 'idempotency release failed'));
      throw err;
    }
    renderError(ctx, apiError, opts.logInternal); // a 4xx is an answer like any other
  } finally {
    clearInterval(timer);
  }
  const body = ctx.body;
  // A caller that hung up never sees this answer. Stored, a refusal would be replayed to the
  // retry it sends with the same key, though the refusal may come from its leaving (an import
  // aborted with its connection): a refusal is not stored then, and the retry runs again.
  const callerGone = ctx.res.destroyed || ctx.req.socket?.destroyed === true;
  if (ctx.status >= 500 || (callerGone && ctx.status >= 400) || Buffer.isBuffer(body) || (typeof body === 'object' && body !== null && typeof (body as { pipe?: unknown }).pipe === 'function')) {
    await store.release(claim.rowId, claim.token);
    return;
  }
  const text = serialiseBody(ctx);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.response.headers)) {
    if (value === undefined || NOT_STORED.has(name.toLowerCase())) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  const answer = { status: ctx.status, headers, body: text };
  let stored: boolean;
  try {
    stored = await store.complete(claim.rowId, claim.token, answer.status, answer.headers, answer.body);
  } catch (err) {
    // The work is done (committed), and this answer says so. A 5xx now would send the client to
    // retry a write that already happened, and the retry would run it again once the claim ran
    // out. So the answer goes out, and is stored as soon as the store takes it.
    log?.warn({ err, operation: operationId }, 'idempotency answer not stored yet; storing it in the background');
    storeLater(store, claim, answer, operationId, log);
    return;
  }
  if (!stored) log?.warn({ operation: operationId }, 'idempotency claim lost before completion');
}

/** How many times an answer the store refused is offered again (a few minutes at the longest). */
const STORE_LATER_TRIES = 60;

/**
 * Offers the answer to the store again until it takes it, a retry took the claim over, or the
 * tries run out. Retries meanwhile meet 409 in_progress. The gaps stay under a third of the
 * lease, so once the store is back the answer lands before a retry could take the claim over.
 */
function storeLater(
  store: IdempotencyStore, claim: { rowId: string; token: string },
  answer: { status: number; headers: Record<string, string>; body: string | null },
  operationId: string, log: IdempotencyLog | undefined,
): void {
  const maxGap = Math.max(10, store.leaseMs / 3);
  const attempt = (n: number, gap: number) => {
    setTimeout(() => {
      store.complete(claim.rowId, claim.token, answer.status, answer.headers, answer.body).then(
        (ours) => {
          if (!ours) log?.warn({ operation: operationId }, 'idempotency claim lost before completion');
        },
        (err) => {
          if (n + 1 < STORE_LATER_TRIES) attempt(n + 1, Math.min(gap * 2, maxGap));
          else log?.error({ err, operation: operationId }, 'idempotency answer never stored; a retry with its key will run again');
        },
      );
    }, gap).unref();
  };
  attempt(0, Math.min(100, maxGap));
}

/** Fixes the response body as the exact text sent, so the stored copy matches it byte for byte. */
function serialiseBody(ctx: Koa.Context): string | null {
  const body = ctx.body;
  if (body === null || body === undefined) return null;
  if (typeof body === 'string') return body;
  const text = JSON.stringify(body);
  const status = ctx.status;
  ctx.body = text;
  ctx.type = 'application/json; charset=utf-8';
  ctx.status = status;
  return text;
}
