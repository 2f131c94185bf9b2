/**
 * One account's share of the delivery slots. Attempts wait on receivers, and every account's
 * deliveries run on the same slots: an account whose receivers hang, or that replays deliveries
 * in bulk, would otherwise hold every slot for the whole timeout, and all other accounts'
 * webhooks would queue behind it. So at most `accountInFlight` of an account's attempts run at
 * once, across all workers, counted from the delivery leases in the database.
 *
 * A delivery over its account's share is deferred, not attempted. It keeps its attempt count and
 * is due again when its turn is likely to come: the account's deliveries ahead of it, divided
 * among its share of slots, times how long its recent attempts took.
 */
import type { Knex } from 'knex';
import { dbKind } from '../db/knex.js';
import { enqueueJob, JOB_TYPES } from './queue.js';
import { clusterDate, clusterNow } from '../db/cluster-time.js';

/** Deferred at least this long (a turn is never sooner) and at most this long (a turn estimate
 *  from a hung receiver's pace must not park a delivery for a day). */
const MIN_DEFER_MS = 200;
const MAX_DEFER_MS = 3_600_000;
/** Deliveries ahead that are counted; beyond this the delay is at its cap anyway. */
const AHEAD_COUNTED = 10_000;
/** The pace assumed for an account whose attempts this process has not seen yet. */
const UNKNOWN_PACE_MS = 1_000;
const PACED_ACCOUNTS = 10_000;

/**
 * Takes the delivery's lease when it is pending, due, its lock is still `lockSeen` (null: free;
 * otherwise one seen expired and unchanged long enough, src/webhooks/delivery-lock.ts) and has
 * run out, and fewer than `limit` of its account's attempts are in flight; false otherwise.
 */
export async function claimWithinShare(
  db: Knex, id: string, now: string, leaseUntil: string, limit: number, lockSeen: string | null,
): Promise<boolean> {
  return db.transaction(async (trx) => {
    if (dbKind(db) === 'postgres') {
      // Under read committed, two claims counting at once would each miss the other's lease;
      // an account's claims take turns instead. (SQLite's transactions already do: src/db/knex.ts.)
      const row = await trx('webhook_deliveries').where({ id }).first('account_id');
      if (!row) return false;
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`lavendly.webhook-share:${row.account_id}`]);
    }
    const claimed = await trx('webhook_deliveries')
      .where({ id, status: 'pending' })
      .andWhere('next_attempt_at', '<=', now)
      .andWhere((q) => (lockSeen === null ? q.whereNull('locked_until') : q.where('locked_until', lockSeen).andWhere('locked_until', '<', now)))
      .andWhere(trx.raw(
        '(select count(*) from webhook_deliveries as held where held.locked_until >= ? and held.status = ? and held.account_id = webhook_deliveries.account_id) < ?',
        [now, 'pending', limit],
      ))
      .update({ locked_until: leaseUntil, updated_at: now });
    return claimed > 0;
  });
}

/**
 * How long each account's attempts take, as seen by this process: a moving average per account,
 * forgotten wholesale past PACED_ACCOUNTS accounts (it only steers when a deferral looks again).
 */
const paces = new Map<string, number>();

export function notePace(accountId: string, durationMs: number): void {
  const before = paces.get(accountId);
  if (before === undefined && paces.size >= PACED_ACCOUNTS) paces.clear();
  paces.set(accountId, before === undefined ? durationMs : 0.7 * before + 0.3 * durationMs);
}

export interface DeferredDelivery {
  id: string;
  accountId: string;
  attempt: number;
  nextAttemptAt: string;
}

/** Moves a due delivery to when its turn is likely to come, with its job; returns that time. */
export async function deferDelivery(db: Knex, d: DeferredDelivery, limit: number): Promise<string | null> {
  const ahead = await db
    .from(db('webhook_deliveries')
      .where({ account_id: d.accountId, status: 'pending' })
      .andWhere('next_attempt_at', '<', d.nextAttemptAt)
      .limit(AHEAD_COUNTED)
      .select(db.raw('1'))
      .as('ahead'))
    .count<{ n: string | number }[]>({ n: '*' })
    .first();
  const turns = Math.ceil((Number(ahead?.n ?? 0) + 1) / limit);
  const delayMs = Math.min(MAX_DEFER_MS, Math.max(MIN_DEFER_MS, turns * (paces.get(d.accountId) ?? UNKNOWN_PACE_MS)));
  const at = new Date(clusterNow() + delayMs).toISOString();
  return db.transaction(async (trx) => {
    // Only if nothing moved it meanwhile (an attempt, a deletion, another deferral).
    const moved = await trx('webhook_deliveries')
      .where({ id: d.id, status: 'pending', attempt: d.attempt, next_attempt_at: d.nextAttemptAt })
      .update({ next_attempt_at: at, updated_at: clusterDate().toISOString() });
    if (!moved) return null;
    await enqueueJob(trx, {
      type: JOB_TYPES.deliverWebhook,
      payload: { deliveryId: d.id },
      runAt: new Date(at),
      dedupeKey: `${JOB_TYPES.deliverWebhook}:${d.id}:${d.attempt + 1}:deferred:${at}`,
    });
    return at;
  });
}
