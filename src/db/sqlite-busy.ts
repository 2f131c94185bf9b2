/**
 * Waiting for SQLite's write lock without blocking the event loop, in one place.
 *
 * better-sqlite3 is synchronous: with SQLite's usual long busy timeout, a write lock held by
 * another process (serve and a worker on one file) would freeze this whole process for up to that
 * long. So each connection's busy timeout is one short slice (BUSY_SLICE_MS, src/db/sqlite.ts sets
 * it), and every path that may meet a lock held elsewhere retries through `whileBusy` below: knex's
 * queries (src/db/sqlite.ts), fast.ts's autocommit statements and awaited transactions, and the
 * synchronous transactions of sqlite-sync.ts and sqlite-group.ts.
 *
 * Also here, because those paths share them: the knex client as they see it, and the pool's one
 * connection when nobody in this process holds it.
 */
import type { Connection } from './sqlite.js';

/** How long one attempt may block the event loop waiting for the lock (the connection's busy_timeout). */
export const BUSY_SLICE_MS = 5;
/** How long a statement keeps retrying before SQLITE_BUSY reaches the caller (the old busy timeout). */
export const BUSY_DEADLINE_MS = 10_000;
/** The pause after the first busy attempt; it doubles after each further one, up to the last. */
const FIRST_DELAY_MS = 2;
const LAST_DELAY_MS = 100;

export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || (typeof code === 'string' && code.startsWith('SQLITE_BUSY_'));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` until it does not fail with SQLITE_BUSY: between attempts the event loop runs for
 * 2, 4, 8 ... up to 100 ms, and once the next pause would pass BUSY_DEADLINE_MS (counted from this
 * call) the last busy error reaches the caller. Any other error is thrown at once.
 *
 * `connection`: the one the attempts run on, when there is one. A busy error while it is inside a
 * transaction is not retried: that transaction already holds the write lock (BEGIN IMMEDIATE), so
 * SQLITE_BUSY there means something a retry cannot mend, and a retried statement could land after
 * what the caller did next.
 */
export function whileBusy<T>(attempt: () => T | Promise<T>, connection?: Connection): Promise<T> {
  return retry(attempt, connection, performance.now() + BUSY_DEADLINE_MS, FIRST_DELAY_MS);
}

/**
 * `whileBusy` after the caller's own attempt failed with `err`: rethrows `err` unless it is
 * SQLITE_BUSY, else pauses before the next attempt, so that two busy slices never block the
 * event loop back to back.
 */
export async function afterBusy<T>(err: unknown, attempt: () => T | Promise<T>, connection?: Connection): Promise<T> {
  const deadline = performance.now() + BUSY_DEADLINE_MS;
  giveUpUnlessBusy(err, connection, deadline, FIRST_DELAY_MS);
  await sleep(FIRST_DELAY_MS);
  return retry(attempt, connection, deadline, FIRST_DELAY_MS * 2);
}

async function retry<T>(attempt: () => T | Promise<T>, connection: Connection | undefined, deadline: number, delay: number): Promise<T> {
  for (;; delay = Math.min(delay * 2, LAST_DELAY_MS)) {
    try {
      return await attempt();
    } catch (err) {
      giveUpUnlessBusy(err, connection, deadline, delay);
      await sleep(delay);
    }
  }
}

function giveUpUnlessBusy(err: unknown, connection: Connection | undefined, deadline: number, delay: number): void {
  // The monotonic clock: a wall-clock step forward would end every wait at once (a write that
  // the lock's release would have let through fails), one back would stretch it by the step.
  if (!isBusy(err) || connection?.inTransaction || performance.now() + delay > deadline) throw err;
}

/** Knex's client, as the fast paths (fast.ts, sqlite-sync.ts, sqlite-group.ts) use it. */
export interface KnexClient {
  config: { client: unknown };
  transacting?: boolean;
  pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number; numPendingCreates(): number; free?: { resource: unknown }[] };
  acquireConnection(): Promise<unknown>;
  releaseConnection(conn: unknown): Promise<void>;
  listenerCount(event: string): number;
  emit(event: string, ...args: unknown[]): boolean;
  /** Set on fast.ts's transaction clients: whether the knex instance had `query` listeners. */
  traced?: boolean;
}

/** The client of knex, of a knex transaction, or of a fast.ts transaction. */
export const clientOf = (db: { readonly client: unknown }): KnexClient => db.client as KnexClient;

/** The pool's connection when nobody holds it or waits for it (the SQLite pool has exactly one). */
export function idleConnection(client: KnexClient): Connection | null {
  const pool = client.pool;
  if (!pool || pool.numUsed() !== 0 || pool.numPendingAcquires() !== 0 || pool.numPendingCreates() !== 0) return null;
  const free = pool.free;
  return pool.numFree() === 1 && free?.length === 1 ? (free[0]!.resource as Connection) : null;
}
