/**
 * A running publication's heartbeat, so the stale sweep (failStalePublications) can tell a run
 * that died from one that is only long, or one that merely looks old because the cluster's clock
 * (the machine's on SQLite, the database server's on PostgreSQL) stepped forward. A step makes
 * every live run's `started_at` look hours old at once; failing such a run sends
 * `publication.failed` while its post is being made, and its outcome write then misses its guard,
 * so a post that exists stays "failed" and invites a second one. The run rewrites `updated_at`
 * every `heartbeatMs` under its claim; the sweep fails a run only once it has seen that row
 * unchanged for `staleConfirmMs` (measured on the monotonic clock, which no step moves).
 */
import { Sightings } from '@lavendly/framework';
import type { Knex } from 'knex';
import { nowIso } from '../db/knex.js';

export const DEFAULT_HEARTBEAT_MS = 60_000;
/** Well over a heartbeat period, with room for a short database outage. */
export const DEFAULT_STALE_CONFIRM_MS = 5 * 60_000;

/** Renews the run's heartbeat while its claim holds; `stop` ends it and waits for a write under way. */
export function beatWhileRunning(db: Knex, id: string, claim: string, heartbeatMs = DEFAULT_HEARTBEAT_MS): { stop(): Promise<void> } {
  let beating: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    beating = db('publications').where({ id, status: 'publishing', claim_token: claim }).update({ updated_at: nowIso() })
      // A failed beat is not a lost run: the next one tries again, well within the sweep's wait.
      .catch(() => {});
  }, Math.max(1, heartbeatMs));
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await beating;
    },
  };
}

/** One per confirm period (options differ in tests), kept across sweeps of this process. */
const sightingsByConfirm = new Map<number, Sightings>();

/** Whether this stale-looking run has been seen unchanged (claim, step, heartbeat) for `confirmMs`. */
export function seenUnrenewed(
  row: { id: string; claim_token: string | null; publish_step: string | null; updated_at: unknown },
  confirmMs = DEFAULT_STALE_CONFIRM_MS,
): boolean {
  let sightings = sightingsByConfirm.get(confirmMs);
  if (!sightings) sightingsByConfirm.set(confirmMs, (sightings = new Sightings(confirmMs, 10_000)));
  return sightings.confirmedOnce(row.id, `${row.claim_token}|${row.publish_step}|${String(row.updated_at)}`);
}
