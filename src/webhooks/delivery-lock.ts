/**
 * A delivery's lock while one runner's attempt is out (`webhook_deliveries.locked_until`), kept
 * safe against the clock every runner compares it with (the machine's on SQLite, the database
 * server's on PostgreSQL) stepping forward. Such a step makes every live lock look expired at
 * once; a runner that took one over would send the same attempt to the customer again. So the
 * holder renews its lock every third of `lockMs` while the attempt is out, and a lock that looks
 * expired is taken over only once it has been seen unchanged for half of `lockMs` (measured on
 * the monotonic clock, which no step moves): a live holder has renewed it by then, a dead one
 * never does. The same as job leases (src/jobs/worker.ts, Sightings in @lavendly/framework).
 */
import type { Knex } from 'knex';
import { clusterNow } from '../db/cluster-time.js';
import { nowIso } from '../db/knex.js';

/** A lock a caller has already seen, and when (performance.now()), so a second look waits less. */
export interface LockSighting {
  lockedUntil: string | null;
  at: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The lock a claim of this delivery must find: null when it is free, the value seen when it is
 * held or looks expired. For one that looks expired this waits until it has been seen unchanged
 * for half of `lockMs` (counting from `seen` when that saw the same lock); a live holder's
 * renewal meanwhile makes the claim find another value and fail. undefined: no such delivery.
 */
export async function lockToClaim(db: Knex, id: string, lockMs: number, seen?: LockSighting): Promise<string | null | undefined> {
  const row = await db('webhook_deliveries').where({ id }).first('locked_until');
  if (!row) return undefined;
  const lockedUntil = (row.locked_until as string | null) ?? null;
  if (lockedUntil !== null && lockedUntil < nowIso()) {
    const since = seen && seen.lockedUntil === lockedUntil ? seen.at : performance.now();
    const wait = since + lockMs / 2 - performance.now();
    if (wait > 0) await sleep(wait);
  }
  return lockedUntil;
}

/** The lock `lockMs` from now on the cluster's clock. */
export function lockUntil(lockMs: number): string {
  return new Date(clusterNow() + lockMs).toISOString();
}

/**
 * Renews the lock every third of `lockMs` while the attempt is out, as long as it is still this
 * runner's (the value it last wrote, on the attempt it claimed). `stop` ends the renewals and
 * waits for one under way, so none lands after the attempt is recorded.
 */
export function renewWhileOut(db: Knex, id: string, attemptsBefore: number, lockedUntil: string, lockMs: number): { stop(): Promise<void> } {
  let mine = lockedUntil;
  let renewing: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    const next = lockUntil(lockMs);
    renewing = db('webhook_deliveries')
      .where({ id, status: 'pending', attempt: attemptsBefore, locked_until: mine })
      .update({ locked_until: next })
      .then((n) => { if (Number(n) > 0) mine = next; })
      // A failed renewal is not a lost lock: the next tick tries again, before half of it has run out.
      .catch(() => {});
  }, Math.max(1, Math.floor(lockMs / 3)));
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await renewing;
    },
  };
}
