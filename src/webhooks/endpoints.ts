import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { nowIso } from '../db/knex.js';
import { ConflictError, DomainError, NotFoundError, ValidationError } from '../errors.js';
import { newId } from '../util/ids.js';
import { AddressRefusedError, resolveWebhookTarget, type AddressPolicy } from './address.js';
import { WEBHOOK_EVENT_TYPES } from './events.js';
import { keysetPage, type Page, type PageQuery } from './page.js';

/** What any list or read answers: never the secret. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  status: 'active' | 'disabled';
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

/** Only `createEndpoint` returns this: the one time the secret is shown. */
export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  secret: string;
}

export interface CreateEndpointInput {
  accountId: string;
  url: string;
  events: string[];
  description?: string | null;
}

/** The columns lists select; `secret` is deliberately not among them. */
const PUBLIC_ENDPOINT_COLUMNS = [
  'id', 'url', 'description', 'events', 'status', 'disabled_reason', 'created_at', 'updated_at',
] as const;

type EndpointRow = Omit<WebhookEndpoint, 'events'> & { events: string };

function toEndpoint(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description ?? null,
    events: JSON.parse(row.events) as string[],
    status: row.status,
    disabled_reason: row.disabled_reason ?? null,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** `whsec_` + base64 of 24 random bytes: the Standard Webhooks secret format. */
function generateWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(24).toString('base64')}`;
}

function validateEvents(events: string[]): string[] {
  const known = new Set<string>([...WEBHOOK_EVENT_TYPES, '*']);
  const unique = [...new Set(events)];
  const unknown = unique.filter((e) => !known.has(e));
  if (unique.length === 0 || unknown.length) {
    throw new ValidationError({
      body: [{
        path: ['events'],
        code: unique.length === 0 ? 'too_small' : 'unknown_event_type',
        message: unique.length === 0
          ? 'Subscribe to at least one event type (or "*" for all).'
          : `Unknown event type(s): ${unknown.join(', ')}. Known: ${WEBHOOK_EVENT_TYPES.join(', ')}.`,
      }],
    });
  }
  return unique.sort();
}

/**
 * Endpoints one account may have. Every event fans out to each of them, and each delivery may
 * wait for its whole timeout on a receiver that never answers: the cap bounds what one account's
 * event costs the delivery slots every account shares.
 */
export const MAX_ENDPOINTS_PER_ACCOUNT = 20;

/**
 * Registers an endpoint after checking that its URL resolves only to addresses receivers may have
 * (no internal addresses). The secret is in this answer and in no later one.
 */
export async function createEndpoint(
  db: Knex,
  input: CreateEndpointInput,
  options: {
    addressPolicy?: AddressPolicy;
    /** Also run in the inserting transaction, with the new endpoint's id (a caller's record of it). */
    recordIn?: (trx: Knex.Transaction, id: string) => Promise<void>;
  } = {},
): Promise<CreatedWebhookEndpoint> {
  const events = validateEvents(input.events);
  try {
    await resolveWebhookTarget(input.url, options.addressPolicy ?? {});
  } catch (err) {
    if (!(err instanceof AddressRefusedError)) throw err;
    throw new DomainError('url_not_allowed', `This URL cannot receive webhooks: ${err.reason}.`, { field: 'url' });
  }
  // Two registrations at the same moment may both pass and go one over: the cap bounds fan-out,
  // it need not be exact.
  const count = await db('webhook_endpoints').where({ account_id: input.accountId }).count({ n: '*' }).first();
  if (Number(count?.n) >= MAX_ENDPOINTS_PER_ACCOUNT) {
    throw new ConflictError(
      `This account already has ${MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints, the most it may have; delete one before registering another.`,
      { limit: MAX_ENDPOINTS_PER_ACCOUNT },
    );
  }
  const now = nowIso();
  const row = {
    id: newId('whe'),
    account_id: input.accountId,
    url: input.url,
    description: input.description ?? null,
    events: JSON.stringify(events),
    secret: generateWebhookSecret(),
    status: 'active' as const,
    disabled_reason: null,
    created_at: now,
    updated_at: now,
  };
  const { recordIn } = options;
  if (recordIn) {
    await db.transaction(async (trx) => {
      await trx('webhook_endpoints').insert(row);
      await recordIn(trx, row.id);
    });
  } else {
    await db('webhook_endpoints').insert(row);
  }
  return { ...toEndpoint(row), secret: row.secret };
}

/** An endpoint with its secret, as createEndpoint answered it (for a retry of that answer). */
export async function createdEndpoint(db: Knex, accountId: string, id: string): Promise<CreatedWebhookEndpoint> {
  const row = await db('webhook_endpoints').where({ account_id: accountId, id }).first();
  if (!row) throw new NotFoundError('webhook endpoint', id);
  return { ...toEndpoint(row as EndpointRow), secret: String(row.secret) };
}

export async function listEndpoints(db: Knex, accountId: string, page: PageQuery = {}): Promise<Page<WebhookEndpoint>> {
  const query = db('webhook_endpoints').where({ account_id: accountId }).select(...PUBLIC_ENDPOINT_COLUMNS);
  return keysetPage(query, 'webhook_endpoints', `webhook_endpoints:${accountId}`, page, toEndpoint);
}

export async function getEndpoint(db: Knex, accountId: string, id: string): Promise<WebhookEndpoint> {
  const row = await db('webhook_endpoints').where({ account_id: accountId, id }).first(...PUBLIC_ENDPOINT_COLUMNS);
  if (!row) throw new NotFoundError('webhook endpoint', id);
  return toEndpoint(row as EndpointRow);
}

/** Deletes the endpoint with its delivery log; pending deliveries go with it. */
export async function deleteEndpoint(db: Knex, accountId: string, id: string): Promise<void> {
  const deleted = await db.transaction(async (trx) => {
    const found = await trx('webhook_endpoints').where({ account_id: accountId, id }).first('id');
    if (!found) return 0;
    // Explicit, so it does not depend on SQLite's foreign_keys pragma for the cascade.
    const deliveries = trx('webhook_deliveries').where({ endpoint_id: id }).select('id');
    await trx('webhook_delivery_attempts').whereIn('delivery_id', deliveries).delete();
    await trx('webhook_deliveries').where({ endpoint_id: id }).delete();
    return trx('webhook_endpoints').where({ account_id: accountId, id }).delete();
  });
  if (!deleted) throw new NotFoundError('webhook endpoint', id);
}

/** Stops deliveries to an endpoint (410 Gone from the receiver, or an operator's decision). */
export async function disableEndpoint(db: Knex | Knex.Transaction, id: string, reason: string): Promise<void> {
  await db('webhook_endpoints')
    .where({ id, status: 'active' })
    .update({ status: 'disabled', disabled_reason: reason, updated_at: nowIso() });
}
