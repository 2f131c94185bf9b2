import type { Knex } from 'knex';
import { nowIso } from '../db/knex.js';
import { newId } from '../util/ids.js';
import { enqueueJob, JOB_TYPES } from './queue.js';

/** Every event type an endpoint may subscribe to. Emitters add theirs here. */
export const WEBHOOK_EVENT_TYPES = [
  'scene.generated',
  'generation.finished',
  'render.succeeded',
  'render.failed',
  'publication.scheduled',
  'publication.published',
  'publication.failed',
  'publication.canceled',
  'balance.low',
] as const;

type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface EmitEventInput {
  accountId: string;
  type: WebhookEventType;
  /** The event's `data`: ids and public fields only, never secrets or signed URLs. */
  payload: Record<string, unknown>;
}

export interface EmittedEvent {
  eventId: string;
  deliveryIds: string[];
}

function subscribes(events: string[], type: string): boolean {
  return events.includes('*') || events.includes(type);
}

/**
 * Writes the event to the outbox and one pending delivery per active endpoint of the account that
 * subscribes to it, in the caller's transaction: the event exists if and only if the change it
 * reports was committed. Each delivery's first attempt is enqueued in that same transaction.
 */
export async function emitEvent(trx: Knex | Knex.Transaction, input: EmitEventInput): Promise<EmittedEvent> {
  const now = nowIso();
  const eventId = newId('msg');
  await trx('webhook_events').insert({
    id: eventId,
    account_id: input.accountId,
    type: input.type,
    payload: JSON.stringify(input.payload),
    created_at: now,
  });
  const endpoints = (await trx('webhook_endpoints')
    .where({ account_id: input.accountId, status: 'active' })
    .select('id', 'events')) as { id: string; events: string }[];
  const deliveryIds: string[] = [];
  for (const endpoint of endpoints) {
    if (!subscribes(JSON.parse(endpoint.events) as string[], input.type)) continue;
    const id = await insertDelivery(trx, { accountId: input.accountId, endpointId: endpoint.id, eventId, now });
    deliveryIds.push(id);
  }
  return { eventId, deliveryIds };
}

/** A pending delivery, due now, with its first attempt enqueued. */
export async function insertDelivery(
  trx: Knex | Knex.Transaction,
  d: { accountId: string; endpointId: string; eventId: string; now: string; replayOf?: string },
): Promise<string> {
  const id = newId('whd');
  await trx('webhook_deliveries').insert({
    id,
    account_id: d.accountId,
    endpoint_id: d.endpointId,
    event_id: d.eventId,
    replay_of: d.replayOf ?? null,
    attempt: 0,
    status: 'pending',
    next_attempt_at: d.now,
    created_at: d.now,
    updated_at: d.now,
  });
  await enqueueJob(trx, {
    type: JOB_TYPES.deliverWebhook,
    payload: { deliveryId: id },
    runAt: new Date(d.now),
    dedupeKey: `${JOB_TYPES.deliverWebhook}:${id}:1`,
  });
  return id;
}

/** The body every receiver gets, as Standard Webhooks suggests: `{ type, timestamp, data }`. */
export function eventBody(event: { type: string; created_at: string; payload: string }): string {
  return `{"type":${JSON.stringify(event.type)},"timestamp":${JSON.stringify(event.created_at)},"data":${event.payload}}`;
}
