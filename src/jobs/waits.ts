/**
 * Why a job that has not finished is not running now: put back to wait out a peer's outage (the
 * media store), or to be tried again after a failed attempt. Scenes and renders show it as
 * `waiting`, so a client polling them learns that the work is stalled, why, and when it goes on,
 * rather than reading "generating" for the length of an outage.
 */
import type { Knex } from 'knex';
import { clusterNow } from '../db/cluster-time.js';

export interface JobWait {
  /** `storage_unavailable` (a peer's outage: `<peer>_unavailable`) or `retrying`. */
  reason: string;
  message: string;
  next_attempt_at: string;
}

const PEER_NAMES: Record<string, string> = { storage: 'The media store' };

function waitOf(row: Record<string, unknown>): JobWait {
  const next = new Date(String(row.run_at)).toISOString();
  const peer = row.waiting_for === null || row.waiting_for === undefined ? null : String(row.waiting_for);
  if (peer) {
    return {
      reason: `${peer}_unavailable`,
      message: `${Object.hasOwn(PEER_NAMES, peer) ? PEER_NAMES[peer] : 'A service this work needs'} is not answering; the work waits for it and carries on by itself once it is back.`,
      next_attempt_at: next,
    };
  }
  // The attempt's own error stays in the log: it may name hosts and paths of this server.
  const made = Number(row.attempts);
  const max = Number(row.max_attempts);
  return {
    reason: 'retrying',
    message: `Attempt ${made} of ${max} failed; it will be tried again.`,
    next_attempt_at: next,
  };
}

/**
 * The waits of these jobs, by job id: only queued jobs put back after a run (a last error) whose
 * next run is still ahead. A job queued for its first run, running or finished has none.
 */
export async function jobWaits(db: Knex | Knex.Transaction, jobIds: readonly (string | null)[]): Promise<Map<string, JobWait>> {
  const ids = [...new Set(jobIds.filter((id): id is string => typeof id === 'string' && id !== ''))];
  const out = new Map<string, JobWait>();
  if (ids.length === 0) return out;
  const now = clusterNow();
  const rows = (await db('jobs')
    .whereIn('id', ids)
    .andWhere({ status: 'queued' })
    .whereNotNull('last_error')
    .select('id', 'run_at', 'waiting_for', 'attempts', 'max_attempts')) as Array<Record<string, unknown>>;
  for (const row of rows) {
    if (new Date(String(row.run_at)).getTime() > now) out.set(String(row.id), waitOf(row));
  }
  return out;
}
