import crypto from 'node:crypto';
import type { Db } from '../db/knex.js';
import { newId } from '../util/ids.js';
import { clusterDate, clusterNow } from '../db/cluster-time.js';

/**
 * Short-lived, single-use OAuth secrets (a `state` in flight, an authorization code), kept as
 * sha256 only. A grant is claimed once, by a conditional update: two requests presenting the
 * same secret cannot both succeed.
 */
export type GrantPurpose = 'channel_connect' | 'mcp_code';

export interface GrantRow {
  id: string;
  purpose: GrantPurpose;
  account_id: string;
  user_id: string | null;
  session_id: string | null;
  client_id: string | null;
  data: Record<string, unknown>;
  expires_at: string;
}

const hash = (secret: string) => crypto.createHash('sha256').update(secret, 'utf8').digest('hex');

export async function createGrant(db: Db, input: {
  purpose: GrantPurpose; accountId: string; userId?: string | null; sessionId?: string | null; clientId?: string | null;
  data: Record<string, unknown>; ttlMs: number;
}): Promise<{ secret: string; expiresAt: string }> {
  const secret = crypto.randomBytes(32).toString('base64url');
  const now = clusterNow();
  const expiresAt = new Date(now + input.ttlMs).toISOString();
  await db('oauth_grants').insert({
    id: newId('grt'), purpose: input.purpose, secret_hash: hash(secret), account_id: input.accountId,
    user_id: input.userId ?? null, session_id: input.sessionId ?? null, client_id: input.clientId ?? null,
    data: JSON.stringify(input.data), created_at: new Date(now).toISOString(), expires_at: expiresAt, used_at: null,
  });
  // Creating one is a good moment to forget the ones that ran out.
  await db('oauth_grants').where('expires_at', '<', new Date(now - 3600_000).toISOString()).delete();
  return { secret, expiresAt };
}

/**
 * Claims the grant behind `secret` for `purpose`: 'unknown' when there is none (or it was
 * claimed already), 'expired' when it ran out, else the grant, now used.
 */
export async function claimGrant(db: Db, purpose: GrantPurpose, secret: string): Promise<GrantRow | 'unknown' | 'expired'> {
  if (!secret || secret.length > 200) return 'unknown';
  const secretHash = hash(secret);
  const now = clusterDate().toISOString();
  const claimed = await db('oauth_grants').where({ secret_hash: secretHash, purpose }).whereNull('used_at').update({ used_at: now });
  if (!claimed) return 'unknown';
  const row = await db('oauth_grants').where({ secret_hash: secretHash }).first();
  if (!row) return 'unknown';
  if (row.expires_at <= now) return 'expired';
  return { ...row, data: JSON.parse(row.data) };
}
