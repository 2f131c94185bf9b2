/**
 * Group commit on SQLite: short synchronous units of work (the ledger's reserve, commit, release,
 * grant) that arrive within the same turn of the event loop, or while an earlier group waits for
 * the write lock, run together in ONE `BEGIN IMMEDIATE ... COMMIT` on the pool's connection.
 *
 * Why: with WAL and synchronous=NORMAL a commit costs CPU and page writes, not an fsync, and most
 * of those pages (the account's balances row, the tail pages of the entries and reservations
 * tables and their indexes) are the same for every unit; a group writes each of them once.
 *
 * What each caller sees is what a transaction of its own would give it:
 * - every unit runs in its own SAVEPOINT, so one that throws rolls back only its own writes and
 *   rejects only its own promise (a group of one needs no savepoint: its transaction is its own);
 * - no promise settles before the shared COMMIT has succeeded; if the COMMIT (or anything that
 *   ends the transaction early) fails, the whole group is rolled back and every promise rejects;
 * - units run in arrival order, and a group holds at most MAX_GROUP of them, so one group keeps
 *   the event loop for a bounded time (the rest go in the next group, after a turn of the loop).
 *
 * Given a knex transaction (a caller that reserves credits and enqueues a job atomically), the
 * unit joins that transaction instead, as `sqliteWork` does.
 *
 * Its units: the ledger's moves, create_workflow's inserts (src/workflows/store.ts), and a job
 * worker's group of completions with its next claim
 * (src/jobs/group-commit.ts groups those itself first, as one unit: it sizes the claim by the slots
 * the whole group frees, retries each completion alone when the group fails, and also runs on
 * PostgreSQL).
 */
import type { Knex } from 'knex';
import { sql, traced, type Runner } from './fast.js';
import type { Connection } from './sqlite.js';
import { clientOf, type KnexClient } from './sqlite-busy.js';
import { COMMIT, ROLLBACK, SyncRunner, beginImmediate, beginOnIdle, sqliteWork, type Busy } from './sqlite-sync.js';

/** Units per transaction at most; 64 ledger moves take well under a few milliseconds. */
export const MAX_GROUP = 64;

interface Unit {
  fn: (q: SyncRunner) => unknown;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

interface Queue {
  readonly db: Knex;
  units: Unit[];
  /** A drain is scheduled or running; new units just join the queue. */
  active: boolean;
}

const queues = new WeakMap<KnexClient, Queue>();

/** Runs `fn` in a transaction, grouped with the other units queued in this turn (see above). */
export function sqliteGroupWork<T>(db: Runner, fn: (q: SyncRunner) => T): Promise<T> {
  const client = clientOf(db);
  if (client.transacting || (db as Knex.Transaction).isTransaction) return sqliteWork(db, fn);
  let queue = queues.get(client);
  if (!queue) {
    queue = { db: db as Knex, units: [], active: false };
    queues.set(client, queue);
  }
  const q = queue;
  return new Promise<T>((resolve, reject) => {
    q.units.push({ fn, resolve: resolve as (value: unknown) => void, reject });
    if (!q.active) {
      q.active = true;
      // After this turn's microtasks: every unit started in this turn is queued by then.
      setImmediate(() => void drain(q));
    }
  });
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function drain(queue: Queue): Promise<void> {
  try {
    while (queue.units.length > 0) {
      const notIdle = runIfIdle(queue);
      if (notIdle !== DONE) await runWhenFree(queue, notIdle);
      // Let the callers just settled queue their next units (and the rest of the process run).
      if (queue.units.length > 0) await nextTurn();
    }
  } catch (err) {
    rejectAll(queue.units.splice(0), err); // not expected: each step above settles its own units
  } finally {
    queue.active = false;
  }
}

const DONE = Symbol('done');

/** The common case: the connection is idle and no other process holds the write lock. Otherwise
 *  what `beginOnIdle` answered: null (not idle) or the busy error. */
function runIfIdle(queue: Queue): Busy | null | typeof DONE {
  let begun: SyncRunner | Busy | null;
  try {
    begun = beginOnIdle(queue.db);
  } catch (err) {
    rejectAll(queue.units.splice(0, MAX_GROUP), err);
    return DONE;
  }
  if (!(begun instanceof SyncRunner)) return begun;
  runGroup(begun, queue.units.splice(0, MAX_GROUP));
  return DONE;
}

/** When the connection was not idle or another process held the lock (`busy`): wait for the
 *  connection like any query, take the lock with the shared backoff, then run the units queued
 *  by then (those that arrived while waiting join the group). */
async function runWhenFree(queue: Queue, busy: Busy | null): Promise<void> {
  const client = clientOf(queue.db);
  let connection: Connection;
  try {
    connection = (await client.acquireConnection()) as Connection;
  } catch (err) {
    rejectAll(queue.units.splice(0, MAX_GROUP), err); // e.g. the pool was destroyed
    return;
  }
  try {
    const runner = new SyncRunner(connection, client, traced(queue.db));
    try {
      await beginImmediate(runner, busy);
    } catch (err) {
      rejectAll(queue.units.splice(0, MAX_GROUP), err);
      return;
    }
    runGroup(runner, queue.units.splice(0, MAX_GROUP));
  } finally {
    await client.releaseConnection(connection);
  }
}

function rejectAll(units: Unit[], err: unknown): void {
  for (const unit of units) unit.reject(err);
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Inside BEGIN IMMEDIATE: every unit, then COMMIT; settles the units only after it. */
function runGroup(runner: SyncRunner, units: Unit[]): void {
  const outcomes: Outcome[] = [];
  try {
    if (units.length === 1) {
      // Its transaction is its own: a throw rolls it all back (below) and rejects it.
      outcomes.push({ ok: true, value: units[0]!.fn(runner) });
    } else {
      for (const unit of units) outcomes.push(inSavepoint(runner, unit));
    }
    runner.run(COMMIT);
  } catch (err) {
    // Nothing of the group is kept: whatever ended it, every caller hears of it.
    if (runner.connection.inTransaction) {
      try { runner.run(ROLLBACK); } catch { /* the connection reports the original error */ }
    }
    rejectAll(units, err);
    return;
  }
  for (const [i, outcome] of outcomes.entries()) {
    if (outcome.ok) units[i]!.resolve(outcome.value);
    else units[i]!.reject(outcome.error);
  }
}

/** One unit of a group; its own failure undoes only its writes. A failure that ended the whole
 *  transaction (SQLite rolls back by itself on e.g. a full disk) is rethrown to end the group. */
function inSavepoint(runner: SyncRunner, unit: Unit): Outcome {
  runner.run(SAVEPOINT);
  try {
    const value = unit.fn(runner);
    runner.run(RELEASE);
    return { ok: true, value };
  } catch (error) {
    if (!runner.connection.inTransaction) throw error;
    runner.run(ROLLBACK_TO);
    runner.run(RELEASE);
    return { ok: false, error };
  }
}

const SAVEPOINT = sql('SAVEPOINT lavendly_unit');
const RELEASE = sql('RELEASE lavendly_unit');
const ROLLBACK_TO = sql('ROLLBACK TO lavendly_unit');
