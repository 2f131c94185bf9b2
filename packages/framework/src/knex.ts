/**
 * `@lavendly/framework/knex`: what the runtime needs from a SQL database through Knex (SQLite and
 * PostgreSQL): an idempotency store shared by every process, and keyset pagination.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Claim, IdempotencyStore, IdempotentRun } from './runtime/idempotency.js';
import { checkLimit, decodeCursor, encodeCursor, type LimitBounds, type Page } from './runtime/pagination.js';
import { Sightings } from './sightings.js';

/** True when a database error is a UNIQUE (or primary key) violation, on SQLite and PostgreSQL. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string } | null;
  if (!e) return false;
  if (e.code === '23505') return true;
  if (e.code?.startsWith('SQLITE_CONSTRAINT') || e.errno === 19) return /UNIQUE constraint failed|PRIMARY KEY/i.test(e.message ?? '');
  return false;
}

/** Creates the table a KnexIdempotencyStore uses (call it from a migration). */
export async function createIdempotencyTable(db: Knex, table = 'idempotency_keys'): Promise<void> {
  await db.schema.createTable(table, (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable();
    t.string('operation_id').notNullable();
    t.string('idem_key', 255).notNullable();
    t.string('request_hash', 64).notNullable();
    t.string('state').notNullable(); // running | done
    t.string('lock_token');
    t.string('locked_until');
    t.integer('status');
    t.text('headers');
    t.text('body');
    t.string('effect'); // what a run made, recorded with its write (KnexIdempotencyStore.recordEffect)
    t.string('created_at').notNullable();
    t.string('expires_at').notNullable();
    t.unique(['account_id', 'operation_id', 'idem_key']);
    t.index(['expires_at']);
  });
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Claims are rows: of many concurrent requests with one key exactly one INSERT succeeds; a claim
 * whose process died (lease not renewed) is taken over by a retry, once that retry's process has
 * seen it expired and unrenewed for half a lease (at once when its write recorded an effect).
 */
export class KnexIdempotencyStore implements IdempotencyStore {
  readonly leaseMs: number;
  private readonly windowMs: number;
  private readonly table: string;
  /** Claims whose run recorded an effect in this process (or took over one that had): `release`
   * keeps those. Tracked here so tables made before the `effect` column never see it queried. */
  private readonly withEffect = new Set<string>();
  /** Expired-looking claims seen here: a holder renews within a third of a lease, so one seen
   *  expired and unchanged for half a lease is dead, whatever a clock step made it look. */
  private readonly sightings: Sightings;

  constructor(private readonly db: Knex, opts: { windowS?: number; leaseS?: number; table?: string } = {}) {
    this.windowMs = (opts.windowS ?? 86_400) * 1000;
    this.leaseMs = Math.min(this.windowMs, (opts.leaseS ?? 30) * 1000);
    this.table = opts.table ?? 'idempotency_keys';
    this.sightings = new Sightings(this.leaseMs / 2, 10_000);
  }

  /** Whether a running claim's holder is gone: expired, and either its effect recorded (a takeover
   *  writes nothing) or seen so, unrenewed, for half a lease. */
  private abandoned(row: { id: string; lock_token: string | null; locked_until: string | null; effect?: string | null }, now: number): boolean {
    if (!row.locked_until || row.locked_until >= iso(now)) return false;
    return row.effect != null || this.sightings.confirmedOnce(row.id, `${row.lock_token}@${row.locked_until}`);
  }

  async claim(scope: string, operationId: string, key: string, requestHash: string): Promise<Claim> {
    const where = { account_id: scope, operation_id: operationId, idem_key: key };
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = Date.now();
      const token = crypto.randomBytes(12).toString('hex');
      const id = `idem_${crypto.randomUUID()}`;
      try {
        await this.db(this.table).insert({
          id, ...where, request_hash: requestHash, state: 'running', lock_token: token,
          locked_until: iso(now + this.leaseMs), created_at: iso(now), expires_at: iso(now + this.windowMs),
        });
        return { kind: 'claimed', rowId: id, token };
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      const row = await this.db(this.table).where(where).first();
      if (!row) continue;
      // An old use of the key is forgotten; a running one past its window is a clock step or a
      // dead process's claim, taken over below as any expired claim is.
      if (row.expires_at <= iso(now) && row.state !== 'running') {
        await this.db(this.table).where({ id: row.id, expires_at: row.expires_at }).del();
        continue;
      }
      if (row.request_hash !== requestHash) return { kind: 'reused' };
      if (row.state === 'done') return { kind: 'replay', status: Number(row.status), headers: JSON.parse(row.headers ?? '{}'), body: row.body ?? null };
      if (this.abandoned(row, now)) {
        const taken = await this.db(this.table).where({ id: row.id, state: 'running', lock_token: row.lock_token })
          .update({ lock_token: token, locked_until: iso(now + this.leaseMs), expires_at: iso(now + this.windowMs) });
        if (taken === 1) {
          if (row.effect) this.withEffect.add(row.id);
          return { kind: 'claimed', rowId: row.id, token, effect: row.effect ?? null };
        }
      }
      return { kind: 'in_progress' };
    }
    return { kind: 'in_progress' };
  }

  /**
   * Records what the run made (an id) in the caller's transaction, so the record and the write
   * commit together: a retry that takes the claim over after this process died finds it in
   * `IdempotentRun.effect` instead of writing again. Needs the table's `effect` column (tables made
   * before it: `t.string('effect')` in a migration). False when the claim is no longer this run's (a
   * retry took it over and does the write itself): roll the transaction back then.
   */
  async recordEffect(trx: Knex | Knex.Transaction, run: IdempotentRun, effect: string): Promise<boolean> {
    const n = await trx(this.table).where({ id: run.rowId, lock_token: run.token, state: 'running' }).update({ effect });
    if (n === 1) this.withEffect.add(run.rowId);
    return n === 1;
  }

  async renew(rowId: string, token: string): Promise<boolean> {
    const now = Date.now();
    const n = await this.db(this.table).where({ id: rowId, lock_token: token, state: 'running' }).update({ locked_until: iso(now + this.leaseMs), expires_at: iso(now + this.windowMs) });
    return n === 1;
  }

  async complete(rowId: string, token: string, status: number, headers: Record<string, string>, body: string | null): Promise<boolean> {
    this.withEffect.delete(rowId);
    const n = await this.db(this.table).where({ id: rowId, lock_token: token, state: 'running' }).update({
      state: 'done', lock_token: null, locked_until: null, status, headers: JSON.stringify(headers), body, expires_at: iso(Date.now() + this.windowMs),
    });
    return n === 1;
  }

  /**
   * Frees the key after a failed run, so a retry runs afresh. A run that recorded an effect (its
   * write committed, and something after it failed) keeps the key with its lease ended instead:
   * the retry takes the claim over at once and finds the effect rather than writing again. (When
   * the transaction holding `recordEffect` rolled back, the column is still null and the key is
   * freed.)
   */
  async release(rowId: string, token: string): Promise<void> {
    if (this.withEffect.delete(rowId)) {
      const kept = await this.db(this.table).where({ id: rowId, lock_token: token, state: 'running' }).whereNotNull('effect')
        .update({ locked_until: iso(Date.now() - 1) });
      if (kept === 1) return;
    }
    await this.db(this.table).where({ id: rowId, lock_token: token }).del();
  }

  /** Deletes expired keys (a running claim only once abandoned, as a takeover sees it); returns how many. */
  async sweep(limit = 1000): Promise<number> {
    const now = Date.now();
    const rows = await this.db(this.table).where('expires_at', '<=', iso(now)).limit(limit)
      .select('id', 'state', 'lock_token', 'locked_until'); // not effect: older tables lack it
    const ids = rows.filter((r) => r.state !== 'running' || this.abandoned({ ...r, effect: null }, now)).map((r) => r.id as string);
    // A renewal since the read moved expires_at on: that row stays.
    return ids.length ? this.db(this.table).whereIn('id', ids).andWhere('expires_at', '<=', iso(now)).del() : 0;
  }
}

export interface PaginateOptions<Row, Out> {
  limit?: number;
  cursor?: string | null;
  secret: string;
  /** Binds a cursor to its list ('pets:acc_1'): a cursor from another list is refused. */
  scope: string;
  /** Sort columns, most significant first; the last must be unique. Default created_at, id. */
  keys?: { column: string; field?: string }[];
  direction?: 'asc' | 'desc';
  bounds?: LimitBounds;
  map?: (row: Row) => Out;
}

/** Keyset pagination: `WHERE (k1, k2) < (cursor) ORDER BY k1, k2 LIMIT n+1`, the same cost on every page. */
export async function paginate<Row extends Record<string, unknown>, Out = Row>(query: Knex.QueryBuilder, options: PaginateOptions<Row, Out>): Promise<Page<Out>> {
  const limit = checkLimit(options.limit, options.bounds);
  const keys = options.keys ?? [{ column: 'created_at' }, { column: 'id' }];
  const dir = options.direction ?? 'desc';
  const op = dir === 'desc' ? '<' : '>';
  if (options.cursor) {
    const values = decodeCursor(options.cursor, options.secret, options.scope, keys.length);
    query.where(function after(this: Knex.QueryBuilder) {
      keyset(this, keys.map((k) => k.column), values, op);
    });
  }
  for (const k of keys) query.orderBy(k.column, dir);
  const rows = (await query.limit(limit + 1)) as Row[];
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  const next = hasMore && last ? encodeCursor(keys.map((k) => last[k.field ?? k.column.replace(/^.*\./, '')] as string | number), options.secret, options.scope) : null;
  const map = options.map ?? ((r: Row) => r as unknown as Out);
  return { data: pageRows.map(map), next_cursor: next, has_more: hasMore };
}

/** (a, b) < (x, y) as `a <= x AND (a < x OR b < y)`: the leading bound drives an index range scan. */
function keyset(qb: Knex.QueryBuilder, columns: string[], values: (string | number)[], op: '<' | '>'): void {
  const [col, ...restCols] = columns;
  const [val, ...restVals] = values;
  if (col === undefined || val === undefined) return;
  if (!restCols.length) {
    qb.where(col, op, val);
    return;
  }
  qb.where(col, `${op}=`, val).andWhere(function inner(this: Knex.QueryBuilder) {
    this.where(col, op, val).orWhere(function deeper(this: Knex.QueryBuilder) {
      keyset(this, restCols, restVals, op);
    });
  });
}
