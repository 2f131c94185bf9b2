import type { Knex } from 'knex';
import { nowIso } from '../db/knex.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { newId } from '../util/ids.js';
import { hasUsableToken } from './oauth.js';
import { credentialsKey, openCredentials, sealCredentials, type SecretsOptions } from './credentials.js';
import { PLATFORMS, type Platform, type PublishChannel } from './types.js';

/** What any answer shows of a channel: never its credentials. */
export interface Channel {
  id: string;
  platform: Platform;
  name: string;
  created_at: string;
}

export interface ChannelList {
  /** False when the account has no channel: the user must connect one (an agent cannot). */
  connected: boolean;
  data: Channel[];
}

export interface ConnectChannelInput {
  accountId: string;
  platform: Platform;
  name: string;
  /** Platform tokens (`access_token`, optional `privacy_status` / `privacy_level`); `{}` for local. */
  credentials: Record<string, unknown>;
}

const PUBLIC_COLUMNS = ['id', 'platform', 'name', 'created_at'] as const;

function invalid(path: string, message: string): ValidationError {
  return new ValidationError({ body: [{ path: [path], code: 'invalid', message }] }, message);
}

/**
 * Connects a channel (admin endpoint and CLI only: publishing on someone's behalf is not an agent's
 * call). The credentials are sealed before they are stored and are never returned.
 */
export async function connectChannel(db: Knex, input: ConnectChannelInput, secrets: SecretsOptions = {}): Promise<Channel> {
  if (!PLATFORMS.includes(input.platform)) throw invalid('platform', `Unknown platform '${input.platform}' (known: ${PLATFORMS.join(', ')}).`);
  const name = input.name?.trim();
  if (!name || name.length > 200) throw invalid('name', 'A channel needs a name of 1 to 200 characters.');
  const credentials = input.credentials ?? {};
  if (typeof credentials !== 'object' || Array.isArray(credentials)) throw invalid('credentials', 'Credentials must be an object.');
  const clientIdField = input.platform === 'tiktok' ? 'client_key' : 'client_id';
  if (input.platform !== 'local' && !hasUsableToken(credentials, clientIdField)) {
    throw invalid('credentials', `A ${input.platform} channel needs an access_token, or a refresh_token with ${clientIdField} and client_secret.`);
  }
  const id = newId('ch');
  const row = {
    id,
    account_id: input.accountId,
    platform: input.platform,
    name,
    credentials_sealed: sealCredentials(id, credentials, credentialsKey(secrets)),
    created_at: nowIso(),
  };
  await db('channels').insert(row);
  return { id, platform: row.platform, name, created_at: row.created_at };
}

export async function listChannels(db: Knex, accountId: string): Promise<ChannelList> {
  const data = (await db('channels')
    .where({ account_id: accountId })
    .whereNull('disconnected_at')
    .orderBy([{ column: 'created_at', order: 'asc' }, { column: 'id', order: 'asc' }])
    .select(...PUBLIC_COLUMNS)) as Channel[];
  return { connected: data.length > 0, data };
}

export async function getChannel(db: Knex | Knex.Transaction, accountId: string, id: string): Promise<Channel> {
  const row = await db('channels').where({ account_id: accountId, id }).whereNull('disconnected_at').first(...PUBLIC_COLUMNS);
  if (!row) throw new NotFoundError('channel', id);
  return row as Channel;
}

/** A channel still has posts waiting or under way: they would fail without credentials. */
export class ChannelBusyError extends Error {
  constructor(readonly channelId: string, readonly pending: number) {
    super(`Channel ${channelId} has ${pending} publication(s) scheduled or in progress; cancel them before disconnecting it.`);
    this.name = 'ChannelBusyError';
  }
}

/**
 * Disconnects a channel: its credentials are erased (replaced by a sealed empty object) and it
 * leaves the lists; its publications stay, so a workflow still shows where it was posted.
 */
export async function disconnectChannel(db: Knex, accountId: string, id: string, secrets: SecretsOptions = {}): Promise<void> {
  await db.transaction(async (trx) => {
    await getChannel(trx, accountId, id);
    const pending = await trx('publications').where({ channel_id: id }).whereIn('status', ['scheduled', 'publishing']).count<{ n: string | number }[]>({ n: '*' }).first();
    if (Number(pending?.n ?? 0) > 0) throw new ChannelBusyError(id, Number(pending!.n));
    await trx('channels').where({ id, account_id: accountId }).whereNull('disconnected_at').update({
      disconnected_at: nowIso(),
      credentials_sealed: sealCredentials(id, {}, credentialsKey(secrets)),
    });
  });
}

/** Keeps renewed credentials (a refreshed access token, a rotated refresh token). */
export async function updateChannelCredentials(db: Knex, id: string, credentials: Record<string, unknown>, secrets: SecretsOptions = {}): Promise<void> {
  await db('channels').where({ id }).update({ credentials_sealed: sealCredentials(id, credentials, credentialsKey(secrets)) });
}

/** The only read of the credentials: for the adapter, at publish time. */
export async function loadChannelForPublish(db: Knex, id: string, secrets: SecretsOptions = {}): Promise<PublishChannel> {
  const row = await db('channels').where({ id }).first('id', 'platform', 'name', 'credentials_sealed');
  if (!row) throw new Error(`channel ${id} no longer exists`);
  return {
    id: row.id,
    name: row.name,
    platform: row.platform,
    credentials: openCredentials(row.id, row.credentials_sealed, credentialsKey(secrets)),
  };
}
