/**
 * Cursor pagination: opaque, signed cursors (`<base64url(JSON key values)>.<hmac>`) bound to the
 * list they came from, a limit check, and the page shape `{ data, next_cursor, has_more }`.
 * `paginate` in `@lavendly/framework/knex` applies them to a SQL query (keyset, not offset).
 */
import crypto from 'node:crypto';
import { ApiError, ValidationError } from './errors.js';

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
  has_more: boolean;
}

export interface LimitBounds {
  min: number;
  max: number;
  default: number;
}

export const DEFAULT_LIMITS: LimitBounds = { min: 1, max: 100, default: 20 };

const invalidCursor = () => new ApiError('invalid_cursor', 'The cursor is malformed, was tampered with, or belongs to another list; start again without a cursor.');

function sign(secret: string, scope: string, payload: string): string {
  return crypto.createHmac('sha256', secret).update(scope).update('\n').update(payload).digest('base64url').slice(0, 22);
}

/** A cursor for the row whose sort-key values are `values`; `scope` names the list ('pets:acc_1'). */
export function encodeCursor(values: (string | number)[], secret: string, scope: string): string {
  const payload = Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
  return `${payload}.${sign(secret, scope, payload)}`;
}

/** The sort-key values inside a cursor; `invalid_cursor` (400) when forged, foreign or malformed. */
export function decodeCursor(cursor: string, secret: string, scope: string, arity: number): (string | number)[] {
  if (cursor.length > 1024) throw invalidCursor();
  const dot = cursor.indexOf('.');
  if (dot <= 0) throw invalidCursor();
  const payload = cursor.slice(0, dot);
  const mac = cursor.slice(dot + 1);
  const expected = sign(secret, scope, payload);
  if (mac.length !== expected.length || !crypto.timingSafeEqual(Buffer.from(mac), Buffer.from(expected))) throw invalidCursor();
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(values) || values.length !== arity || !values.every((v) => typeof v === 'string' || typeof v === 'number')) throw invalidCursor();
  return values as (string | number)[];
}

/** The page size to use; a 400 in the envelope (at `query.limit`) when outside the bounds. */
export function checkLimit(limit: number | undefined, bounds: LimitBounds = DEFAULT_LIMITS): number {
  const n = limit ?? bounds.default;
  if (!Number.isInteger(n) || n < bounds.min || n > bounds.max) {
    throw new ValidationError({ query: [{ path: ['limit'], message: `must be an integer from ${bounds.min} to ${bounds.max}`, code: 'out_of_range' }] });
  }
  return n;
}

/**
 * One page of an in-memory list sorted by `key` (unique, ascending): for small apps and tests;
 * a database list should use `paginate` from `@lavendly/framework/knex`.
 */
export function pageOf<T>(items: readonly T[], opts: { limit?: number; cursor?: string | null; secret: string; scope: string; key: (item: T) => string | number }): Page<T> {
  const limit = checkLimit(opts.limit);
  let start = 0;
  if (opts.cursor) {
    const [after] = decodeCursor(opts.cursor, opts.secret, opts.scope, 1);
    start = items.findIndex((it) => opts.key(it) > after!);
    if (start < 0) start = items.length;
  }
  const data = items.slice(start, start + limit);
  const hasMore = start + limit < items.length;
  const last = data[data.length - 1];
  return { data, has_more: hasMore, next_cursor: hasMore && last !== undefined ? encodeCursor([opts.key(last)], opts.secret, opts.scope) : null };
}
