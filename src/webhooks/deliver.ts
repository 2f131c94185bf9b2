import type { Knex } from 'knex';
import { Webhook } from 'standardwebhooks';
import { nowIso } from '../db/knex.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { observeWebhookDelivery } from '../telemetry/observe.js';
import { newId } from '../util/ids.js';
import { AddressRefusedError, resolveWebhookTarget } from './address.js';
import { disableEndpoint } from './endpoints.js';
import { eventBody, insertDelivery } from './events.js';
import { claimWithinShare, deferDelivery, notePace } from './fair-share.js';
import { retryDelayMs, withDefaults, type WebhookOptions } from './options.js';
import { keysetPage, type Page, type PageQuery } from './page.js';
import { enqueueJob, JOB_TYPES } from './queue.js';
import { postPinned, type SendResult } from './send.js';
import { clusterDate, clusterNow } from '../db/cluster-time.js';
import { lockToClaim, lockUntil, renewWhileOut, type LockSighting } from './delivery-lock.js';

type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookDelivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  replay_of: string | null;
  status: DeliveryStatus;
  attempt: number;
  response_status: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeliveryAttempt {
  attempt: number;
  response_status: number | null;
  error: string | null;
  duration_ms: number;
  created_at: string;
}

export interface DeliveryOutcome {
  /** `skipped`: not due, already done, or another runner holds it. */
  status: DeliveryStatus | 'skipped';
  attempt: number;
  responseStatus: number | null;
  nextAttemptAt: string | null;
}

const DELIVERY_COLUMNS = [
  'webhook_deliveries.id', 'webhook_deliveries.endpoint_id', 'webhook_deliveries.event_id',
  'webhook_events.type as event_type', 'webhook_deliveries.replay_of', 'webhook_deliveries.status',
  'webhook_deliveries.attempt', 'webhook_deliveries.response_status', 'webhook_deliveries.last_error',
  'webhook_deliveries.next_attempt_at', 'webhook_deliveries.delivered_at', 'webhook_deliveries.created_at',
  'webhook_deliveries.updated_at',
];

function toDelivery(row: WebhookDelivery): WebhookDelivery {
  return {
    id: row.id,
    endpoint_id: row.endpoint_id,
    event_id: row.event_id,
    event_type: row.event_type,
    replay_of: row.replay_of ?? null,
    status: row.status,
    attempt: Number(row.attempt),
    response_status: row.response_status == null ? null : Number(row.response_status),
    last_error: row.last_error ?? null,
    next_attempt_at: row.next_attempt_at ?? null,
    delivered_at: row.delivered_at ?? null,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/**
 * Makes one attempt of a delivery: the job handler for `webhook.deliver`.
 *
 * The attempt is claimed with a lock (a conditional update) that its runner renews while the
 * attempt is out, so two runners never send it at once, even when the clock steps
 * (src/webhooks/delivery-lock.ts). Every attempt carries the event's id as `webhook-id`, a fresh `webhook-timestamp` and a
 * Standard Webhooks signature over both and the body. The receiver's address is checked again and
 * the connection pinned to it; redirects are not followed. 2xx succeeds; 410 disables the endpoint;
 * an internal address fails at once; anything else (a host that does not resolve included) is
 * retried on the schedule, then given up.
 */
export async function deliver(
  db: Knex, deliveryId: string, opts: Partial<WebhookOptions> = {}, seen?: LockSighting,
): Promise<DeliveryOutcome> {
  const options = withDefaults(opts);
  const lockSeen = await lockToClaim(db, deliveryId, options.lockMs, seen);
  if (lockSeen === undefined) return { status: 'skipped', attempt: 0, responseStatus: null, nextAttemptAt: null };
  const now = nowIso();
  const leaseUntil = lockUntil(options.lockMs);
  if (!(await claimWithinShare(db, deliveryId, now, leaseUntil, options.accountInFlight, lockSeen))) {
    const held = await db('webhook_deliveries').where({ id: deliveryId, status: 'pending' })
      .first('attempt', 'locked_until', 'account_id', 'next_attempt_at');
    if (held && held.next_attempt_at <= now && !(held.locked_until >= now)) {
      // Due and free, so its account's share of slots is taken: wait for its turn.
      await deferDelivery(db, { id: deliveryId, accountId: held.account_id, attempt: Number(held.attempt), nextAttemptAt: held.next_attempt_at }, options.accountInFlight);
    } else if (held?.locked_until && held.locked_until >= now) {
      // Held by a runner that may have died mid-attempt: look again when its lease runs out, so
      // the delivery does not wait for the sweeper.
      await enqueueJob(db, {
        type: JOB_TYPES.deliverWebhook,
        payload: { deliveryId },
        runAt: new Date(Date.parse(held.locked_until) + 1_000),
        dedupeKey: `${JOB_TYPES.deliverWebhook}:${deliveryId}:${Number(held.attempt) + 1}:after:${held.locked_until}`,
      });
    }
    return { status: 'skipped', attempt: 0, responseStatus: null, nextAttemptAt: null };
  }

  const row = await db('webhook_deliveries')
    .join('webhook_events', 'webhook_events.id', 'webhook_deliveries.event_id')
    .join('webhook_endpoints', 'webhook_endpoints.id', 'webhook_deliveries.endpoint_id')
    .where('webhook_deliveries.id', deliveryId)
    .first<(AttemptRow & { attempt: number | string }) | undefined>(
      'webhook_deliveries.attempt', 'webhook_deliveries.endpoint_id', 'webhook_deliveries.account_id',
      'webhook_events.id as event_id', 'webhook_events.type', 'webhook_events.payload', 'webhook_events.created_at',
      'webhook_endpoints.url', 'webhook_endpoints.secret', 'webhook_endpoints.status as endpoint_status',
    );
  if (!row) return { status: 'skipped', attempt: 0, responseStatus: null, nextAttemptAt: null };
  const attempt = Number(row.attempt) + 1;
  const renewal = renewWhileOut(db, deliveryId, attempt - 1, leaseUntil, options.lockMs);
  try {
    return await attemptAndRecord(db, deliveryId, row, attempt, options);
  } finally {
    await renewal.stop();
  }
}

/** What one attempt sends, read once its lock is held. */
interface AttemptRow {
  endpoint_id: string; account_id: string; event_id: string; type: string; payload: string; created_at: string;
  url: string; secret: string; endpoint_status: string;
}

async function attemptAndRecord(
  db: Knex, deliveryId: string, row: AttemptRow, attempt: number, options: WebhookOptions,
): Promise<DeliveryOutcome> {
  let result: SendResult;
  let terminalError: string | null = null;
  if (row.endpoint_status !== 'active') {
    result = { status: null, error: 'the endpoint is disabled', durationMs: 0 };
    terminalError = result.error;
  } else {
    try {
      const target = await resolveWebhookTarget(row.url, options.addressPolicy);
      const body = eventBody(row);
      const timestamp = clusterDate();
      const signature = new Webhook(row.secret).sign(row.event_id, timestamp, body);
      result = await postPinned(target, {
        'content-type': 'application/json',
        'user-agent': options.userAgent,
        'webhook-id': row.event_id,
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': signature,
      }, body, options.timeoutMs);
    } catch (err) {
      if (!(err instanceof AddressRefusedError)) throw err;
      result = { status: null, error: `address refused: ${err.reason}`, durationMs: 0 };
      // A refused address is final; a name that did not resolve may resolve on the next attempt.
      if (!err.retryable) terminalError = result.error;
    }
  }
  notePace(row.account_id, result.durationMs);
  return record(db, deliveryId, row.endpoint_id, attempt, result, terminalError, options);
}

async function record(
  db: Knex,
  deliveryId: string,
  endpointId: string,
  attempt: number,
  result: SendResult,
  terminalError: string | null,
  options: WebhookOptions,
): Promise<DeliveryOutcome> {
  const ok = result.status !== null && result.status >= 200 && result.status < 300;
  const gone = result.status === 410;
  const lastError = ok ? null : (result.error ?? `the receiver answered HTTP ${result.status}`);
  const delay = ok || gone || terminalError ? null : retryDelayMs(options, attempt);
  const status: DeliveryStatus = ok ? 'succeeded' : delay === null ? 'failed' : 'pending';
  const now = nowIso();
  const nextAttemptAt = delay === null ? null : new Date(clusterNow() + delay).toISOString();

  const recorded = await db.transaction(async (trx) => {
    // The delivery row first: if its endpoint was deleted while the attempt was out, the row is
    // gone with it, and there is nothing to record (an attempt row would break its foreign key).
    const updated = await trx('webhook_deliveries').where({ id: deliveryId, attempt: attempt - 1 }).update({
      attempt,
      status,
      response_status: result.status,
      last_error: lastError,
      next_attempt_at: nextAttemptAt,
      locked_until: null,
      delivered_at: ok ? now : null,
      updated_at: now,
    });
    if (!updated) return false;
    await trx('webhook_delivery_attempts').insert({
      id: newId('wha'),
      delivery_id: deliveryId,
      attempt,
      response_status: result.status,
      error: lastError,
      duration_ms: result.durationMs,
      created_at: now,
    });
    if (gone) await disableEndpoint(trx, endpointId, `the receiver answered 410 Gone on ${now}`);
    if (nextAttemptAt) {
      await enqueueJob(trx, {
        type: JOB_TYPES.deliverWebhook,
        payload: { deliveryId },
        runAt: new Date(nextAttemptAt),
        dedupeKey: `${JOB_TYPES.deliverWebhook}:${deliveryId}:${attempt + 1}`,
      });
    }
    return true;
  });
  if (!recorded) return { status: 'skipped', attempt, responseStatus: result.status, nextAttemptAt: null };
  observeWebhookDelivery(status === 'pending' ? 'retrying' : status);
  return { status, attempt, responseStatus: result.status, nextAttemptAt };
}

/**
 * Attempts every delivery that is due and not held by another runner. The job queue is the usual
 * driver; this sweeper catches anything it missed and drives deliveries where no worker runs.
 */
export async function runDueDeliveries(db: Knex, opts: Partial<WebhookOptions> = {}, limit = 50): Promise<DeliveryOutcome[]> {
  const now = nowIso();
  const due = (await db('webhook_deliveries')
    .where({ status: 'pending' })
    .andWhere('next_attempt_at', '<=', now)
    .andWhere((q) => q.whereNull('locked_until').orWhere('locked_until', '<', now))
    .orderBy('next_attempt_at')
    .limit(limit)
    .select('id', 'locked_until')) as { id: string; locked_until: string | null }[];
  // Every lock seen now: those that look expired wait out their sightings together, not one after another.
  const at = performance.now();
  const outcomes: DeliveryOutcome[] = [];
  for (const d of due) outcomes.push(await deliver(db, d.id, opts, { lockedUntil: d.locked_until, at }));
  return outcomes;
}

export interface ListDeliveriesQuery extends PageQuery {
  accountId: string;
  endpointId?: string;
  status?: DeliveryStatus;
}

/** The delivery log, newest first; per endpoint when `endpointId` is given. */
export async function listDeliveries(db: Knex, query: ListDeliveriesQuery): Promise<Page<WebhookDelivery>> {
  if (query.endpointId) {
    const found = await db('webhook_endpoints').where({ account_id: query.accountId, id: query.endpointId }).first('id');
    if (!found) throw new NotFoundError('webhook endpoint', query.endpointId);
  }
  const q = db('webhook_deliveries')
    .join('webhook_events', 'webhook_events.id', 'webhook_deliveries.event_id')
    .where('webhook_deliveries.account_id', query.accountId)
    .select(...DELIVERY_COLUMNS);
  if (query.endpointId) q.andWhere('webhook_deliveries.endpoint_id', query.endpointId);
  if (query.status) q.andWhere('webhook_deliveries.status', query.status);
  return keysetPage(q, 'webhook_deliveries', `webhook_deliveries:${query.accountId}:${query.endpointId ?? '*'}:${query.status ?? '*'}`, query, toDelivery);
}

/** One delivery with the outcome of each of its attempts. */
export async function getDelivery(
  db: Knex,
  accountId: string,
  id: string,
): Promise<WebhookDelivery & { attempts: DeliveryAttempt[] }> {
  const row = await db('webhook_deliveries')
    .join('webhook_events', 'webhook_events.id', 'webhook_deliveries.event_id')
    .where({ 'webhook_deliveries.account_id': accountId, 'webhook_deliveries.id': id })
    .first(...DELIVERY_COLUMNS);
  if (!row) throw new NotFoundError('webhook delivery', id);
  const attempts = (await db('webhook_delivery_attempts')
    .where({ delivery_id: id })
    .orderBy('attempt')
    .select('attempt', 'response_status', 'error', 'duration_ms', 'created_at')) as DeliveryAttempt[];
  return {
    ...toDelivery(row as WebhookDelivery),
    attempts: attempts.map((a) => ({
      attempt: Number(a.attempt),
      response_status: a.response_status == null ? null : Number(a.response_status),
      error: a.error ?? null,
      duration_ms: Number(a.duration_ms),
      created_at: a.created_at,
    })),
  };
}

/**
 * Sends the same event to the same endpoint again, as a new delivery with a fresh retry schedule.
 * It keeps the event's `webhook-id`, so receivers that deduplicate on it see a repeat.
 */
export async function replayDelivery(db: Knex, accountId: string, deliveryId: string): Promise<WebhookDelivery> {
  const newId_ = await db.transaction(async (trx) => {
    const original = await trx('webhook_deliveries')
      .join('webhook_endpoints', 'webhook_endpoints.id', 'webhook_deliveries.endpoint_id')
      .where({ 'webhook_deliveries.account_id': accountId, 'webhook_deliveries.id': deliveryId })
      .first('webhook_deliveries.endpoint_id', 'webhook_deliveries.event_id', 'webhook_endpoints.status');
    if (!original) throw new NotFoundError('webhook delivery', deliveryId);
    if (original.status !== 'active') {
      throw new ConflictError('The endpoint of this delivery is disabled; register it again to receive events.', {
        endpoint_id: original.endpoint_id,
      });
    }
    return insertDelivery(trx, {
      accountId,
      endpointId: original.endpoint_id,
      eventId: original.event_id,
      now: nowIso(),
      replayOf: deliveryId,
    });
  });
  return getDeliveryOnly(db, accountId, newId_);
}

/** A delivery without its attempts, as replayDelivery answers it. */
export async function getDeliveryOnly(db: Knex, accountId: string, id: string): Promise<WebhookDelivery> {
  return getDelivery(db, accountId, id).then(({ attempts: _attempts, ...d }) => d);
}
