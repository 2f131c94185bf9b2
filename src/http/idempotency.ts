import crypto from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { first as fastFirst, run as fastRun, sql } from '../db/fast.js';
import { newId } from '../util/ids.js';
import { ApiError, toIssue } from './errors.js';
import { renderError, toApiError } from './envelope.js';
import { isUniqueViolation } from '../db/sql.js';
import type { LavendlyState } from './context.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
const MAX_KEY_LENGTH = 255;
/** Printable ASCII only: keys end up in logs and SQL indexes. */
const KEY_SHAPE = /^[\x21-\x7e]+$/;

/** Response headers that belong to one delivery, not to the stored response. */
const NOT_STORED = new Set([
  'x-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after',
  'date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', REPLAYED_HEADER.toLowerCase(),
]);

export type Claim =
  | { kind: 'claimed'; rowId: string; token: string }
  | { kind: 'replay'; status: number; headers: Record<string, string>; body: string | null }
  | { kind: 'reused' }
  | { kind: 'in_progress' };

export interface IdempotencyOptions {
  windowS: number;
  /**
   * How long a claim holds without renewal before a retry may take it over (a crashed process);
   * default 30 s. The middleware renews it while the request runs.
   */
  leaseS?: number;
}

/** The database side: claim, complete, release. One instance per app. */
export class IdempotencyStore {
  private readonly windowMs: number;
  readonly leaseMs: number;

  constructor(private readonly db: Db, options: IdempotencyOptions) {
    this.windowMs = options.windowS * 1000;
    this.leaseMs = Math.min(this.windowMs, (options.leaseS ?? 30) * 1000);
  }

  async claim(accountId: string, operationId: string, key: string, requestHash: string): Promise<Claim> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = Date.now();
      const token = crypto.randomBytes(12).toString('hex');
      const id = newId('idem');
      try {
        await fastRun(this.db, INSERT_CLAIM, [
          id, accountId, operationId, key, requestHash, token, iso(now + this.leaseMs), iso(now), iso(now + this.windowMs),
        ]);
        return { kind: 'claimed', rowId: id, token };
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      const row = await fastFirst<StoredClaim>(this.db, FIND_CLAIM, [accountId, operationId, key]);
      if (!row) continue; // released or expired between our insert and this read: try again
      if (row.expires_at <= iso(now)) {
        // An old use of the key: forget it (only that exact row) and claim afresh.
        await this.db('idempotency_keys').where({ id: row.id, expires_at: row.expires_at }).del();
        continue;
      }
      if (row.request_hash !== requestHash) return { kind: 'reused' };
      if (row.state === 'done') {
        return { kind: 'replay', status: Number(row.status), headers: JSON.parse(row.headers ?? '{}'), body: row.body ?? null };
      }
      if (row.locked_until && row.locked_until < iso(now)) {
        // The process that claimed it died mid-request: take the claim over, once.
        const taken = await this.db('idempotency_keys')
          .where({ id: row.id, state: 'running', lock_token: row.lock_token })
          .update({ lock_token: token, locked_until: iso(now + this.leaseMs) });
        if (taken === 1) return { kind: 'claimed', rowId: row.id, token };
      }
      return { kind: 'in_progress' };
    }
    return { kind: 'in_progress' };
  }

  /**
   * Extends a running claim by one lease, and its replay window to a full window from now (a
   * request may run longer than the window; its key must not expire under it). False when the
   * claim is no longer ours.
   */
  async renew(rowId: string, token: string): Promise<boolean> {
    const now = Date.now();
    const n = await this.db('idempotency_keys')
      .where({ id: rowId, lock_token: token, state: 'running' })
      .update({ locked_until: iso(now + this.leaseMs), expires_at: iso(now + this.windowMs) });
    return n === 1;
  }

  /**
   * Renews the claim every third of a lease until the returned function is called: the claim
   * then lasts as long as the request, however long, while a crashed process's claim still runs
   * out one lease after its last renewal.
   */
  keepAlive(rowId: string, token: string, logger: Logger): () => void {
    const timer = setInterval(() => {
      this.renew(rowId, token).then(
        (ours) => { if (!ours) { logger.warn({ row: rowId }, 'idempotency claim lost while the request ran'); clearInterval(timer); } },
        (err) => logger.warn({ err }, 'idempotency claim renewal failed'),
      );
    }, Math.max(10, this.leaseMs / 3));
    timer.unref();
    return () => clearInterval(timer);
  }

  async complete(rowId: string, token: string, status: number, headers: Record<string, string>, body: string | null): Promise<boolean> {
    // The window counts from the answer.
    const n = await fastRun(this.db, COMPLETE, [status, JSON.stringify(headers), body, iso(Date.now() + this.windowMs), rowId, token]);
    return n === 1;
  }

  async release(rowId: string, token: string): Promise<void> {
    await this.db('idempotency_keys').where({ id: rowId, lock_token: token }).del();
  }

  /** Deletes expired keys; returns how many. Called on a timer by the server. */
  async sweep(limit = 1000): Promise<number> {
    const ids = await this.db('idempotency_keys').where('expires_at', '<=', iso(Date.now())).limit(limit).pluck('id');
    if (!ids.length) return 0;
    return this.db('idempotency_keys').whereIn('id', ids).del();
  }
}

interface StoredClaim {
  id: string; request_hash: string; state: string; lock_token: string | null; locked_until: string | null;
  status: number | string | null; headers: string | null; body: string | null; expires_at: string;
}

// Every request with an Idempotency-Key runs these: written out once (src/db/fast.ts).
const INSERT_CLAIM = sql('insert into "idempotency_keys" ("id", "account_id", "operation_id", "idem_key", "request_hash", "state",'
  + ' "lock_token", "locked_until", "created_at", "expires_at") values (?, ?, ?, ?, ?, \'running\', ?, ?, ?, ?)');
const FIND_CLAIM = sql('select * from "idempotency_keys" where "account_id" = ? and "operation_id" = ? and "idem_key" = ? limit 1');
const COMPLETE = sql('update "idempotency_keys" set "state" = \'done\', "lock_token" = null, "locked_until" = null, "status" = ?,'
  + ' "headers" = ?, "body" = ?, "expires_at" = ? where "id" = ? and "lock_token" = ? and "state" = \'running\'');

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** JSON with object keys sorted, so that key order and whitespace do not make a "different" body. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** What makes two requests "the same": method, path, query, and the body's content. */
export function requestFingerprint(ctx: Koa.Context): string {
  const state = ctx.state as LavendlyState & { jsonBody?: unknown; hasJsonBody?: boolean };
  const h = crypto.createHash('sha256');
  h.update(`${ctx.method} ${ctx.path}?${ctx.querystring}\n`);
  if (state.hasJsonBody) h.update('json\n' + canonicalJson(state.jsonBody));
  else if (state.rawBody) h.update('raw\n').update(state.rawBody);
  return h.digest('hex');
}

export function validateIdempotencyKey(key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || !KEY_SHAPE.test(key)) {
    throw new ApiError(
      'invalid_idempotency_key',
      `The Idempotency-Key header must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters.`,
      { issues: { header: [toIssue({ path: ['Idempotency-Key'], message: 'invalid idempotency key', code: 'invalid_format' })] } },
    );
  }
}

/**
 * The middleware for `x-idempotent` operations. Needs the account (auth runs first) and the body
 * (the body reader runs first). A request without the header runs normally.
 */
export function idempotency(store: IdempotencyStore, operationId: string, logger: Logger): Koa.Middleware {
  return async (ctx, next) => {
    const raw = ctx.headers[IDEMPOTENCY_HEADER];
    if (raw === undefined) return next();
    const key = Array.isArray(raw) ? raw.join(',') : raw;
    validateIdempotencyKey(key);
    const state = ctx.state as LavendlyState;
    const accountId = state.account?.id ?? '';
    const claim = await store.claim(accountId, operationId, key, requestFingerprint(ctx));
    if (claim.kind === 'reused') {
      throw new ApiError('idempotency_key_reused',
        'This Idempotency-Key was already used with a different request; use a new key for a new request.');
    }
    if (claim.kind === 'in_progress') {
      throw new ApiError('idempotency_key_in_progress',
        'A request with this Idempotency-Key is still running; retry after it finishes.', {}, { 'Retry-After': '1' });
    }
    if (claim.kind === 'replay') {
      ctx.status = claim.status;
      ctx.set(claim.headers);
      ctx.set(REPLAYED_HEADER, 'true');
      if (claim.body !== null) ctx.body = claim.body;
      else ctx.body = null;
      ctx.status = claim.status; // setting a null body resets the status to 204 in Koa
      return;
    }
    const stopRenewing = store.keepAlive(claim.rowId, claim.token, logger);
    try {
      await next();
    } catch (err) {
      const apiError = toApiError(err);
      if (!apiError || apiError.status >= 500) {
        await store.release(claim.rowId, claim.token).catch((e) => logger.error({ err: e }, 'idempotency release failed'));
        throw err;
      }
      renderError(ctx, apiError, logger); // a 4xx is an answer like any other: stored and replayed
    } finally {
      stopRenewing();
    }
    if (ctx.status >= 500 || isStream(ctx.body) || Buffer.isBuffer(ctx.body)) {
      // 5xx: let a retry run again. Binary and streamed bodies are not kept: the key is released.
      await store.release(claim.rowId, claim.token);
      return;
    }
    const body = serialiseBody(ctx);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(ctx.response.headers)) {
      if (value === undefined || NOT_STORED.has(name.toLowerCase())) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    const stored = await store.complete(claim.rowId, claim.token, ctx.status, headers, body);
    if (!stored) logger.warn({ operation: operationId }, 'idempotency claim lost before completion');
  };
}

function isStream(body: unknown): boolean {
  return typeof body === 'object' && body !== null && typeof (body as { pipe?: unknown }).pipe === 'function';
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
