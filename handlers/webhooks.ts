/**
 * Webhooks: endpoints (the signing secret shown once, at creation), their delivery log, and
 * replay. Signing, retries and the address policy live in src/webhooks.
 */
import type { WebhooksHandlers } from '../generated/handlers.gen.js';
import type * as T from '../generated/types.gen.js';
import type { AppContext } from '../src/http/context.js';
import { keyedWrite, keyedWriteWithin } from '../src/http/keyed-write.js';
import {
  createdEndpoint, createEndpoint, deleteEndpoint, getDeliveryOnly, listDeliveries, listEndpoints, replayDelivery,
  type WebhookDelivery, type WebhookEndpoint,
} from '../src/webhooks/index.js';

function endpointView(e: WebhookEndpoint): T.WebhookEndpoint {
  return {
    id: e.id, url: e.url, description: e.description, events: e.events as T.WebhookEventFilter[], status: e.status,
    disabled_reason: e.disabled_reason, created_at: e.created_at, updated_at: e.updated_at,
  };
}

function deliveryView(d: WebhookDelivery): T.WebhookDelivery {
  return {
    id: d.id, endpoint_id: d.endpoint_id, event_id: d.event_id, event_type: d.event_type as T.WebhookEventType,
    replay_of: d.replay_of, status: d.status, attempt: d.attempt, response_status: d.response_status,
    last_error: d.last_error, next_attempt_at: d.next_attempt_at, delivered_at: d.delivered_at,
    created_at: d.created_at, updated_at: d.updated_at,
  };
}

export const webhooksHandlers = {
  async list_webhook_endpoints(input, ctx) {
    const page = await listEndpoints(ctx.db, ctx.account.id, {
      limit: input.query.limit, cursor: input.query.cursor ?? null, cursorSecret: ctx.services.cursorSecret,
    });
    return { status: 200, body: { data: page.data.map(endpointView), next_cursor: page.next_cursor, has_more: page.has_more } };
  },

  /** The only answer that carries the secret. */
  async create_webhook_endpoint(input, ctx) {
    const created = await keyedWriteWithin(ctx, (recordIn) => createEndpoint(ctx.db, {
      accountId: ctx.account.id, url: input.body.url, events: input.body.events, description: input.body.description ?? null,
    }, { addressPolicy: ctx.services.webhookOptions.addressPolicy, recordIn }), { find: (id) => createdEndpoint(ctx.db, ctx.account.id, id) });
    return { status: 201, body: { ...endpointView(created), secret: created.secret } };
  },

  async delete_webhook_endpoint(input, ctx) {
    await deleteEndpoint(ctx.db, ctx.account.id, input.path.id);
    return { status: 204 };
  },

  async list_webhook_deliveries(input, ctx) {
    const page = await listDeliveries(ctx.db, {
      accountId: ctx.account.id, endpointId: input.path.id,
      limit: input.query.limit, cursor: input.query.cursor ?? null, cursorSecret: ctx.services.cursorSecret,
    });
    return { status: 200, body: { data: page.data.map(deliveryView), next_cursor: page.next_cursor, has_more: page.has_more } };
  },

  async replay_webhook_delivery(input, ctx) {
    const replay = await keyedWrite(ctx, (db) => replayDelivery(db, ctx.account.id, input.path.id), {
      idOf: (made) => made.id, find: (id) => getDeliveryOnly(ctx.db, ctx.account.id, id),
    });
    return { status: 202, body: deliveryView(replay) };
  },
} satisfies WebhooksHandlers<AppContext>;
