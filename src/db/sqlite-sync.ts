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
 * process holds the write lock, `syncTransaction` answers null at once; `sqliteWork` then queues
 * for the connection like any query and retries the lock with an asynchronous backoff
 * (src/db/sqlite.ts), and still runs the work itself in one go.
 */
import type { Knex } from 'knex';
import { sql, statementOf, traced, transaction, type Row, type Runner, type Sql } from './fast.js';
import { BUSY_DEADLINE_MS, isBusy, type Connection } from './sqlite.js';

export interface KnexClient {
  config: { client: unknown };
  transacting?: boolean;
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
  pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number; numPendingCreates(): number; free?: { resource: unknown }[] };
  listenerCount(event: string): number;
  emit(event: string, ...args: unknown[]): boolean;
}

export const clientOf = (db: Knex | Knex.Transaction | Runner): KnexClient => (db as unknown as { client: KnexClient }).client;

/** The pool's connection when nobody holds it or waits for it (the SQLite pool has exactly one). */
export function idleSqliteConnection(db: Knex): Connection | null {
  const client = clientOf(db);
  if (client.config.client === 'pg' || (db as Knex.Transaction).isTransaction) return null;
  const pool = client.pool;
  if (!pool || pool.numUsed() !== 0 || pool.numPendingAcquires() !== 0 || pool.numPendingCreates() !== 0) return null;
  const free = pool.free;
  return pool.numFree() === 1 && free?.length === 1 ? (free[0]!.resource as Connection) : null;
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
  return new SyncRunner(connection, (db as { client: KnexClient }).client, traced(db as Runner));
}

/**
 * Runs `fn` in BEGIN IMMEDIATE .. COMMIT on the idle connection, synchronously; rolls back and
 * rethrows if `fn` throws. Returns null without running `fn` when the connection is not idle or
 * another process holds the write lock (BEGIN IMMEDIATE waits at most the short busy timeout).
 */
export function syncTransaction<T>(db: Knex, fn: (q: SyncRunner) => T): { value: T } | null {
  const connection = idleSqliteConnection(db);
  if (!connection) return null;
  const runner = new SyncRunner(connection, clientOf(db), traced(db as Runner));
  try {
    runner.run(BEGIN_IMMEDIATE);
  } catch (err) {
    if (isBusy(err)) return null;
    throw err;
  }
  return { value: inTransaction(runner, fn) };
}

/**
 * Runs synchronous work in a transaction: at once on the idle connection when it can, else in an
 * awaited transaction (src/db/fast.ts) on its held connection. Given a transaction, joins it.
 */
export async function sqliteWork<T>(db: Runner, fn: (q: SyncRunner) => T): Promise<T> {
  const client = (db as unknown as { client: KnexClient }).client;
  if (client.transacting) {
    return transaction(db, async (trx) => fn(syncRunner(trx, (await trx.client.acquireConnection()) as Connection)));
  }
  const done = syncTransaction(db as Knex, fn);
  if (done) return done.value;
  // Wait for the connection like any query, then hold it for as short as possible: only taking
  // the write lock from another process is awaited (with backoff), the work itself runs at once.
  // (An awaited transaction per statement here made every caller queued behind one busy moment
  // hold the connection across several turns of the event loop, so the queue never drained.)
  const connection = (await client.acquireConnection()) as Connection;
  try {
    const runner = new SyncRunner(connection, client, traced(db as Runner));
    await beginImmediate(runner);
    return inTransaction(runner, fn);
  } finally {
    await client.releaseConnection(connection);
  }
}

/** BEGIN IMMEDIATE on a connection the caller holds; a write lock held by another process is
 *  retried with an asynchronous backoff until the busy deadline (src/db/sqlite.ts). */
export async function beginImmediate(runner: SyncRunner): Promise<void> {
  const deadline = Date.now() + BUSY_DEADLINE_MS;
  for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
    try {
      runner.run(BEGIN_IMMEDIATE);
      return;
    } catch (err) {
      if (!isBusy(err) || Date.now() + delay > deadline) throw err;
      await sleep(delay);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
