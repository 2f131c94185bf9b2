/**
 * Hot-path statements that skip knex's query builder. Building and compiling a knex query costs
 * more than running it on SQLite (a profile of get_workflow put knex at ~40% of the request), so
 * the few statements every request runs are written once as SQL text and run directly:
 *
 * - SQLite: on the connection's cached prepared statement (src/db/sqlite.ts). When the pool's one
 *   connection is idle the statement runs at once, synchronously, without going through the pool
 *   (nothing else can run on this thread meanwhile); otherwise the connection is acquired like
 *   knex does, so a statement never lands inside someone else's transaction.
 * - PostgreSQL: a named prepared statement on the pooled `pg` client (parsed once per connection).
 *
 * Given a knex transaction, statements run on that transaction's connection. Knex's `query` events
 * are emitted as knex does when someone listens (the tracing spans of src/telemetry/tracing.ts).
 * Texts use `?` placeholders and never a literal `?`.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { prepared, type Connection, type Statement } from './sqlite.js';
import { afterBusy, clientOf, idleConnection, isBusy, whileBusy, type KnexClient } from './sqlite-busy.js';

export type Row = Record<string, unknown>;

export class Sql {
  readonly pgText: string;
  readonly pgName: string;
  readonly operation: string;
  /**
   * The prepared statements of the SQLite connection this text last ran on (one per row shape):
   * found here without building the cache key and reordering the connection's statement cache
   * (src/db/sqlite.ts) on every run. Another connection replaces them.
   */
  sqlite: { conn: Connection; objects: Statement | null; arrays: Statement | null } | null = null;
  constructor(readonly text: string) {
    let n = 0;
    this.pgText = text.replace(/\?/g, () => `$${++n}`);
    this.pgName = `lv_${crypto.createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    this.operation = text.trimStart().split(/\s/, 1)[0]!.toLowerCase();
  }
}

/** A statement defined once, at module load. */
export const sql = (text: string): Sql => new Sql(text);

interface PgClient {
  query(config: { name: string; text: string; values: unknown[]; rowMode?: 'array' }): Promise<{ rows: Row[]; rowCount: number | null }>;
}

/** Knex, a knex transaction, or the transaction of `transaction` below. */
export type Runner = Knex | FastTransaction;

/** A transaction that runs only the statements of this module, on the connection it holds. */
export interface FastTransaction {
  readonly client: KnexClient;
}

const isPg = (client: KnexClient) => client.config.client === 'pg';

/** As knex's better-sqlite3 client binds values (the list itself when nothing needs converting). */
function sqliteBindings(params: readonly unknown[]): readonly unknown[] {
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    if (v instanceof Date || typeof v === 'boolean') {
      return params.map((w) => (w instanceof Date ? w.valueOf() : typeof w === 'boolean' ? Number(w) : w));
    }
  }
  return params;
}

/** The statement for `q` on `conn`, from the text's own slot when it last ran there. */
export function statementOf(conn: Connection, q: Sql, arrays: boolean): Statement {
  let slot = q.sqlite;
  if (slot && slot.conn === conn) {
    const found = arrays ? slot.arrays : slot.objects;
    if (found) return found;
  }
  const statement = prepared(conn, q.text, arrays);
  if (!slot || slot.conn !== conn) q.sqlite = slot = { conn, objects: null, arrays: null };
  if (arrays) slot.arrays = statement;
  else slot.objects = statement;
  return statement;
}

interface Result { rows: Row[]; changes: number }

/** How rows come back: objects by column name, or arrays of values in the statement's column order. */
type Shape = 'objects' | 'arrays';

/** One attempt on a SQLite connection this caller may use now. */
function sqliteRun(conn: Connection, q: Sql, params: readonly unknown[], shape: Shape): Result {
  const statement = statementOf(conn, q, shape === 'arrays');
  const bindings = sqliteBindings(params) as unknown[];
  if (statement.reader) return { rows: statement.all(bindings) as Row[], changes: 0 };
  return { rows: [], changes: statement.run(bindings).changes };
}

/**
 * Runs outside a transaction: a lock held by another process is waited for with the shared
 * asynchronous backoff (src/db/sqlite-busy.ts), the connection given back between attempts.
 * `busy`: the fast path's attempt just failed with it, so the first retry waits a little.
 */
function sqliteAutocommit(client: KnexClient, q: Sql, params: readonly unknown[], shape: Shape, busy?: unknown): Promise<Result> {
  const attempt = async (): Promise<Result> => {
    const conn = idleConnection(client);
    if (conn) return sqliteRun(conn, q, params, shape);
    const held = (await client.acquireConnection()) as Connection;
    try {
      return sqliteRun(held, q, params, shape);
    } finally {
      await client.releaseConnection(held);
    }
  };
  return busy === undefined ? whileBusy(attempt) : afterBusy(busy, attempt);
}

let uid = 0;

/**
 * Whether anyone listens for query events (tracing listens on the knex instance). Not the
 * client's own listener count: knex always hangs its forwarder to the instance there. Inside a
 * knex transaction the instance's listeners cannot be seen, so events are emitted anyway.
 */
export function traced(db: Runner, client: KnexClient = clientOf(db)): boolean {
  if (client.traced !== undefined) return client.traced;
  if (client.transacting) return true;
  const count = (db as unknown as { listenerCount?: (event: string) => number }).listenerCount;
  return typeof count === 'function' ? count.call(db, 'query') > 0 : true;
}

/**
 * The common case on SQLite first: no transaction, nobody listening for query events and the
 * connection idle, so the statement runs at once without the retry loop's async frames. A busy
 * lock falls through to that loop.
 */
function execute(db: Runner, q: Sql, params: readonly unknown[], shape: Shape = 'objects'): Promise<Result> {
  const client = clientOf(db);
  if (!client.transacting && !isPg(client) && !traced(db, client)) {
    const conn = idleConnection(client);
    if (conn) {
      try {
        return Promise.resolve(sqliteRun(conn, q, params, shape));
      } catch (err) {
        if (!isBusy(err)) return Promise.reject(err);
        return executeQueued(client, false, q, params, shape, err);
      }
    }
  }
  return executeQueued(client, traced(db, client), q, params, shape);
}

async function executeQueued(
  client: KnexClient, listened: boolean, q: Sql, params: readonly unknown[], shape: Shape, busy?: unknown,
): Promise<Result> {
  const event = listened ? { __knexQueryUid: `fast${++uid}`, sql: q.text, method: q.operation, bindings: params } : null;
  if (event) client.emit('query', event);
  try {
    let result: Result;
    if (isPg(client)) {
      const conn = (await client.acquireConnection()) as PgClient;
      try {
        const r = await conn.query({ name: q.pgName, text: q.pgText, values: params as unknown[], ...(shape === 'arrays' ? { rowMode: 'array' as const } : {}) });
        result = { rows: r.rows, changes: r.rowCount ?? 0 };
      } finally {
        await client.releaseConnection(conn);
      }
    } else if (client.transacting) {
      result = sqliteRun((await client.acquireConnection()) as Connection, q, params, shape);
    } else {
      result = await sqliteAutocommit(client, q, params, shape, busy);
    }
    if (event) client.emit('query-response', result, event);
    return result;
  } catch (err) {
    if (event) client.emit('query-error', err, event);
    throw err;
  }
}

/** The rows a SELECT (or a statement with RETURNING on PostgreSQL) gives. */
export async function rows<T = Row>(db: Runner, q: Sql, params: readonly unknown[] = []): Promise<T[]> {
  return (await execute(db, q, params)).rows as T[];
}

/**
 * The rows of a SELECT as arrays of column values, in the order the statement names the columns:
 * cheaper than objects when the caller builds its own (better-sqlite3 builds an object per row
 * through V8's API, ~0.3 us per column).
 */
export async function arrayRows(db: Runner, q: Sql, params: readonly unknown[] = []): Promise<unknown[][]> {
  return (await execute(db, q, params, 'arrays')).rows as unknown as unknown[][];
}

/** The first row, or undefined. */
export async function first<T = Row>(db: Runner, q: Sql, params: readonly unknown[] = []): Promise<T | undefined> {
  return (await execute(db, q, params)).rows[0] as T | undefined;
}

/** How many rows an INSERT, UPDATE or DELETE changed. */
export async function run(db: Runner, q: Sql, params: readonly unknown[] = []): Promise<number> {
  return (await execute(db, q, params)).changes;
}

const BEGIN = sql('BEGIN');
const BEGIN_IMMEDIATE = sql('BEGIN IMMEDIATE');
const COMMIT = sql('COMMIT');
const ROLLBACK = sql('ROLLBACK');
const SAVEPOINT = sql('SAVEPOINT lv_fast');
const RELEASE = sql('RELEASE SAVEPOINT lv_fast');
const ROLLBACK_TO = sql('ROLLBACK TO SAVEPOINT lv_fast');

/**
 * Runs `fn` in a transaction without knex's transaction machinery (~90 us of CPU per transaction
 * on SQLite). `fn` may only use this module's statements. SQLite opens it with BEGIN IMMEDIATE, as
 * knex's transactions do here (src/db/knex.ts), retried while another process holds the lock.
 * Given a transaction (knex's or this one), `fn` joins it: `join` (the default) runs in it as is,
 * as knex-based code joining a caller's transaction did; `savepoint` undoes `fn`'s own writes
 * if it throws.
 */
export async function transaction<T>(
  db: Runner, fn: (trx: FastTransaction) => Promise<T>, nested: 'join' | 'savepoint' = 'join',
): Promise<T> {
  const client = clientOf(db);
  if (client.transacting && nested === 'join') return fn(db as FastTransaction);
  const conn = await client.acquireConnection();
  const trx: FastTransaction = { client: client.transacting ? client : transactionClient(client, conn, traced(db, client)) };
  const inner = client.transacting === true;
  try {
    if (inner) await run(trx, SAVEPOINT);
    else if (isPg(client)) await run(trx, BEGIN);
    else await beginImmediate(trx);
    let result: T;
    try {
      result = await fn(trx);
    } catch (err) {
      await run(trx, inner ? ROLLBACK_TO : ROLLBACK).catch(() => undefined);
      if (inner) await run(trx, RELEASE).catch(() => undefined);
      throw err;
    }
    await run(trx, inner ? RELEASE : COMMIT);
    return result;
  } finally {
    if (!inner) await client.releaseConnection(conn);
  }
}

/** BEGIN IMMEDIATE on the held connection, retried with the shared backoff (src/db/sqlite-busy.ts). */
async function beginImmediate(trx: FastTransaction): Promise<void> {
  await whileBusy(() => run(trx, BEGIN_IMMEDIATE));
}

/** A client bound to one held connection; its query events reach the knex instance's listeners. */
function transactionClient(client: KnexClient, conn: unknown, listened: boolean): KnexClient {
  const held = Promise.resolve(conn);
  return {
    config: client.config,
    transacting: true,
    traced: listened,
    acquireConnection: () => held,
    releaseConnection: async () => undefined,
    listenerCount: (event) => client.listenerCount(event),
    emit: (event, ...args) => client.emit(event, ...args),
  };
}
