import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { DomainError } from '../errors.js';

export const MIN_LIMIT = 1;
export const MAX_LIMIT = 100;
export const DEFAULT_LIMIT = 20;

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
  has_more: boolean;
}

/** A sort key column: its name in the query and the property of a row it is read from. */
export interface KeyColumn {
  column: string;
  /** Row property holding the value (defaults to the column name without a table prefix). */
  field?: string;
}

export interface PaginateOptions<Row, Out> {
  limit?: number;
  cursor?: string | null;
  /** Secret the cursor is signed with (config.signingSecret, resolved at start-up). */
  secret: string;
  /**
   * Binds a cursor to the list it came from ('workflows:acc_123'), so a cursor from one list
   * or account is rejected by another.
   */
  scope: string;
  /** Sort columns, most significant first; the last one must be unique. Default created_at, id. */
  keys?: KeyColumn[];
  /** Newest first by default. */
  direction?: 'asc' | 'desc';
  map?: (row: Row) => Out;
}

const INVALID = () => new DomainError('invalid_cursor', 'The cursor is malformed, was tampered with, or belongs to another list; start again without a cursor.');

function sign(secret: string, scope: string, payload: string): string {
  return crypto.createHmac('sha256', secret).update(scope).update('\n').update(payload).digest('base64url').slice(0, 22);
}

/** `<base64url(JSON values)>.<hmac>`: opaque to clients, tamper-evident to us. */
export function encodeCursor(values: unknown[], secret: string, scope: string): string {
  const payload = Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
  return `${payload}.${sign(secret, scope, payload)}`;
}

export function decodeCursor(cursor: string, secret: string, scope: string, arity: number): (string | number)[] {
  if (cursor.length > 1024) throw INVALID();
  const dot = cursor.indexOf('.');
  if (dot <= 0) throw INVALID();
  const payload = cursor.slice(0, dot);
  const mac = cursor.slice(dot + 1);
  const expected = sign(secret, scope, payload);
  if (mac.length !== expected.length || !crypto.timingSafeEqual(Buffer.from(mac), Buffer.from(expected))) throw INVALID();
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw INVALID();
  }
  if (!Array.isArray(values) || values.length !== arity || !values.every((v) => typeof v === 'string' || typeof v === 'number')) {
    throw INVALID();
  }
  return values as (string | number)[];
}

export function checkLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(n) || n < MIN_LIMIT || n > MAX_LIMIT) {
    throw new DomainError('validation_error', `limit must be an integer from ${MIN_LIMIT} to ${MAX_LIMIT}.`, {
      issues: { query: [{ path: ['limit'], message: `must be ${MIN_LIMIT}..${MAX_LIMIT}`, code: 'too_big' }] },
    });
  }
  return n;
}

/**
 * Keyset pagination: `WHERE (k1, k2) < (cursor values) ORDER BY k1 DESC, k2 DESC LIMIT n+1`,
 * written as nested comparisons both SQLite and PostgreSQL drive from an index on the keys, so a
 * page costs the same on page 1 and page 10,000. Rows inserted while a client walks the list
 * never cause duplicates or gaps among the rows that existed when it started.
 */
export async function paginate<Row extends Record<string, unknown>, Out = Row>(
  query: Knex.QueryBuilder,
  options: PaginateOptions<Row, Out>,
): Promise<Page<Out>> {
  const limit = checkLimit(options.limit);
  const keys = options.keys ?? [{ column: 'created_at' }, { column: 'id' }];
  const dir = options.direction ?? 'desc';
  const op = dir === 'desc' ? '<' : '>';
  if (options.cursor) {
    const values = decodeCursor(options.cursor, options.secret, options.scope, keys.length);
    query.where(function after(this: Knex.QueryBuilder) {
      keysetCondition(this, keys.map((k) => k.column), values, op);
    });
  }
  for (const k of keys) query.orderBy(k.column, dir);
  const rows = (await query.limit(limit + 1)) as Row[];
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  const next = hasMore && last
    ? encodeCursor(keys.map((k) => last[k.field ?? k.column.replace(/^.*\./, '')]), options.secret, options.scope)
    : null;
  const map = options.map ?? ((r: Row) => r as unknown as Out);
  return { data: pageRows.map(map), next_cursor: next, has_more: hasMore };
}

/**
 * (a, b, c) < (x, y, z) as `a <= x AND (a < x OR (b <= y AND (b < y OR c < z)))`: the leading
 * `a <= x` bounds the index range scan; the rest filters inside it.
 */
function keysetCondition(qb: Knex.QueryBuilder, columns: string[], values: (string | number)[], op: '<' | '>'): void {
  const [col, ...restCols] = columns;
  const [val, ...restVals] = values;
  if (col === undefined || val === undefined) return;
  if (!restCols.length) {
    qb.where(col, op, val);
    return;
  }
  qb.where(col, `${op}=`, val).andWhere(function inner(this: Knex.QueryBuilder) {
    this.where(col, op, val).orWhere(function deeper(this: Knex.QueryBuilder) {
      keysetCondition(this, restCols, restVals, op);
    });
  });
}
