/**
 * Publications whose run stopped (its worker died, was stopped, or its job gave up) while they
 * were `publishing`. The row's `publish_step` says whether the platform can have been called:
 * in 'fetching' it cannot (the run marks 'posting', under its claim, before it calls the
 * platform), so the publication goes back on the schedule. In 'posting' (or null, a row claimed
 * before the step was recorded) it may have been posted: such a row is left to the stale sweep,
 * which fails it, never posting twice.
 */
import type { Knex } from 'knex';
import { nowIso } from '../db/knex.js';
import { emitEvent } from '../webhooks/events.js';
import { enqueueJob, JOB_TYPES } from '../webhooks/queue.js';
import { eventData, getPublication, type PublishOptions } from './service.js';
import { clusterNow } from '../db/cluster-time.js';

/** The run under `claim` has not called the platform. Guards every update below. */
function unposted(id: string, claim: string) {
  return { id, status: 'publishing', publish_step: 'fetching', claim_token: claim };
}

/**
 * Puts a publication claimed under `claim`, whose run never reached the platform, back to
 * `scheduled` as it was (due now), for the caller to claim again. Safe while that run is still
 * alive: its mark of 'posting' is guarded by its claim, which this clears, so it stops there.
 */
export async function reopenUnposted(db: Knex, id: string, claim: string): Promise<boolean> {
  const changed = await db('publications').where(unposted(id, claim))
    .update({ status: 'scheduled', claim_token: null, publish_step: null, updated_at: nowIso() });
  return changed === 1;
}

const INTERRUPTED = 'Publishing was interrupted before the video was sent to the platform';

/**
 * For a run that will not come back (its job failed for good, or it went stale): an unposted
 * publication is scheduled again with the retry backoff and a job of its own, or failed once its
 * retries are used up. Writes in `trx` (a job failure hook's transaction). With `claim`, only
 * the run under that claim is given up on (a sweep that saw it stale). Returns what it did.
 */
export async function rescheduleUnposted(
  trx: Knex.Transaction, id: string, options: PublishOptions = {}, claim?: string,
): Promise<'rescheduled' | 'failed' | 'untouched'> {
  const row = await trx('publications').where({ id }).first('account_id', 'status', 'publish_step', 'claim_token', 'attempts');
  if (!row || row.status !== 'publishing' || row.publish_step !== 'fetching') return 'untouched';
  if (claim !== undefined && row.claim_token !== claim) return 'untouched';
  const at = nowIso();
  const attempts = Number(row.attempts) + 1;
  if (attempts > (options.maxRetries ?? 3)) {
    await trx('publications').where(unposted(id, row.claim_token)).update({
      status: 'failed', publish_step: null, error_code: 'publish_interrupted', updated_at: at,
      error: `${INTERRUPTED}, too many times; nothing was posted. Publish it again to retry.`,
    });
    await emitEvent(trx, { accountId: row.account_id, type: 'publication.failed', payload: eventData(await getPublication(trx, row.account_id, id)) });
    return 'failed';
  }
  const next = new Date(clusterNow() + (options.retryBaseMs ?? 60_000) * 2 ** (attempts - 1));
  await trx('publications').where(unposted(id, row.claim_token)).update({
    status: 'scheduled', claim_token: null, publish_step: null, attempts, scheduled_for: next.toISOString(), updated_at: at,
    error_code: 'publish_interrupted', error: `${INTERRUPTED}; nothing was posted, it will be tried again.`,
  });
  await enqueueJob(trx, {
    type: JOB_TYPES.runPublication, payload: { publicationId: id }, runAt: next,
    dedupeKey: `${JOB_TYPES.runPublication}:${id}:resume:${row.claim_token}`,
  });
  return 'rescheduled';
}
