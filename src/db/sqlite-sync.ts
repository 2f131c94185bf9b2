/**
 * Synchronous work on the SQLite pool's one connection, for the job queue and the ledger.
 *
 * better-sqlite3 runs every statement synchronously, so when the pool's connection is idle a whole
 * short transaction (BEGIN IMMEDIATE, a few prepared statements, COMMIT) can run in one go on it
 * without knex's pool or transaction machinery: no other JavaScript runs until it is over, so
 * nothing can slip into the transaction, and the pool never sees the connection leave. A ledger
 * transaction costs about a third of what it costs through an awaited transaction.
 *
 * When the connection is not idle (someone in this process holds it, or waits for it) or another
 * process holds the write lock, `beginOnIdle` answers at once; `sqliteWork` then queues for the
 * connection like any query and takes the lock with the shared asynchronous backoff
 * (src/db/sqlite-busy.ts), and still runs the work itself in one go.
 */
import type { Knex } from 'knex';
import { sql, statementOf, traced, transaction, type Row, type Runner, type Sql } from './fast.js';
import type { Connection } from './sqlite.js';
import { afterBusy, clientOf, idleConnection, isBusy, whileBusy, type KnexClient } from './sqlite-busy.js';

/** The pool's connection when nobody holds it or waits for it; null on PostgreSQL and in a knex transaction. */
export function idleSqliteConnection(db: Knex): Connection | null {
  const client = clientOf(db);
  if (client.config.client === 'pg' || (db as Knex.Transaction).isTransaction) return null;
  return idleConnection(client);
}

/** Statements run synchronously on one connection; knex's `query` events are emitted when
 *  someone listens (tracing), as for every other statement. */
export class SyncRunner {
  constructor(readonly connection: Connection, private readonly client: KnexClient, private readonly traced = true) {}

  rows(q: Sql, params: readonly unknown[] = []): Row[] {
    return this.execute(q, params, true) as Row[];
  }

  run(q: Sql, params: readonly unknown[] = []): number {
    return this.execute(q, params, false) as number;
  }

  private execute(q: Sql, params: readonly unknown[], wantRows: boolean): Row[] | number {
    const event = this.traced ? { __knexQueryUid: `sync${++uid}`, sql: q.text, method: q.operation, bindings: params } : null;
    if (event) this.client.emit('query', event);
    try {
      const statement = statementOf(this.connection, q, false);
      const result = wantRows ? (statement.all(params as unknown[]) as Row[]) : statement.run(params as unknown[]).changes;
      if (event) this.client.emit('query-response', result, event);
      return result;
    } catch (err) {
      if (event) this.client.emit('query-error', err, event);
      throw err;
    }
  }
}

let uid = 0;

/** A runner on a connection the caller already holds (inside a knex or fast.ts transaction). */
export function syncRunner(db: Knex | Knex.Transaction | { client: unknown }, connection: Connection): SyncRunner {
  return new SyncRunner(connection, clientOf(db), traced(db as Runner));
}

/** Another process held the write lock through one busy slice: the error, for `beginImmediate`. */
export interface Busy { busy: unknown }

/**
 * BEGIN IMMEDIATE on the idle connection, at once: a runner inside the open transaction (end it
 * before yielding to the event loop), null when the connection is not idle, or `{ busy }` when
 * another process holds the write lock (BEGIN IMMEDIATE waited one short busy slice for it).
 */
export function beginOnIdle(db: Knex): SyncRunner | Busy | null {
  const connection = idleSqliteConnection(db);
  if (!connection) return null;
  const runner = new SyncRunner(connection, clientOf(db), traced(db as Runner));
  try {
    runner.run(BEGIN_IMMEDIATE);
  } catch (err) {
    if (isBusy(err)) return { busy: err };
    throw err;
  }
  return runner;
}

/**
 * Runs synchronous work in a transaction: at once on the idle connection when it can, else in an
 * awaited transaction (src/db/fast.ts) on its held connection. Given a transaction, joins it.
 */
export async function sqliteWork<T>(db: Runner, fn: (q: SyncRunner) => T): Promise<T> {
  const client = clientOf(db);
  if (client.transacting) {
    return transaction(db, async (trx) => fn(syncRunner(trx, (await trx.client.acquireConnection()) as Connection)));
  }
  const begun = beginOnIdle(db as Knex);
  if (begun instanceof SyncRunner) return inTransaction(begun, fn);
  // Wait for the connection like any query, then hold it for as short as possible: only taking
  // the write lock from another process is awaited (with backoff), the work itself runs at once.
  // (An awaited transaction per statement here made every caller queued behind one busy moment
  // hold the connection across several turns of the event loop, so the queue never drained.)
  const connection = (await client.acquireConnection()) as Connection;
  try {
    const runner = new SyncRunner(connection, client, traced(db as Runner));
    await beginImmediate(runner, begun);
    return inTransaction(runner, fn);
  } finally {
    await client.releaseConnection(connection);
  }
}

/**
 * BEGIN IMMEDIATE on a connection the caller holds; a write lock held by another process is
 * retried with the shared asynchronous backoff (src/db/sqlite-busy.ts). After `beginOnIdle` found
 * the lock busy, pass its answer: the first retry then waits a little instead of blocking the event
 * loop for a second busy slice at once.
 */
export function beginImmediate(runner: SyncRunner, earlier?: Busy | null): Promise<void> {
  const begin = () => { runner.run(BEGIN_IMMEDIATE); };
  return earlier ? afterBusy(earlier.busy, begin, runner.connection) : whileBusy(begin, runner.connection);
}

/** `fn`, then COMMIT; ROLLBACK if either throws. */
function inTransaction<T>(runner: SyncRunner, fn: (q: SyncRunner) => T): T {
  try {
    const value = fn(runner);
    runner.run(COMMIT);
    return value;
  } catch (err) {
    if (runner.connection.inTransaction) runner.run(ROLLBACK);
    throw err;
  }
}

export const BEGIN_IMMEDIATE = sql('BEGIN IMMEDIATE');
export const COMMIT = sql('COMMIT');
export const ROLLBACK = sql('ROLLBACK');
const DATA_VERSION = sql('PRAGMA data_version');

/**
 * PRAGMA data_version of the idle connection: it changes whenever another connection (another
 * process) commits to the database file, and never for this connection's own commits. Null when
 * the connection is busy.
 */
export function dataVersion(db: Knex): number | null {
  const connection = idleSqliteConnection(db);
  if (!connection) return null;
  // A prepared statement kept with the text: `pragma()` would prepare it again at every call.
  const [row] = statementOf(connection, DATA_VERSION, false).all([]) as Array<{ data_version: number }>;
  return row!.data_version;
}
