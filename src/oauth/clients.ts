import type { Db } from '../db/knex.js';
import { nowIso } from '../db/knex.js';
import { newId } from '../util/ids.js';
import { clusterNow } from '../db/cluster-time.js';
import { cutText } from '../util/text-cut.js';

/**
 * OAuth clients that registered themselves (RFC 7591 dynamic client registration), as MCP clients
 * do. They are public clients (no secret; PKCE protects the code), identified by an id we issue
 * and allowed to receive codes only at the redirect URIs they registered.
 */
export interface OAuthClient {
  client_id: string;
  client_name: string;
  redirect_uris: string[];
  created_at: string;
}

export class ClientMetadataError extends Error {
  constructor(readonly error: 'invalid_redirect_uri' | 'invalid_client_metadata', message: string) {
    super(message);
    this.name = 'ClientMetadataError';
  }
}

const MAX_URIS = 10;

/**
 * A redirect URI we may send codes to: https anywhere, http only to this machine (native apps and
 * local tools listen on loopback, RFC 8252), or a private-use scheme (`com.example.app:/cb`), written
 * in its normal form, without a fragment.
 */
function acceptableRedirectUri(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  // What the parser would have to repair (`https:///cb` reads as `https://cb/`), or an empty
  // fragment, is refused: codes go only to the URI exactly as registered.
  if (raw.includes('#') || raw.length > 2000 || (url.href !== raw && url.href !== `${raw}/`)) return false;
  if (url.protocol === 'https:') return true;
  if (url.protocol === 'http:') return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  return /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(url.protocol) && url.protocol !== 'javascript:';
}

/**
 * Characters that draw nothing (zero-width space, soft hyphen, word joiner, Hangul filler) or
 * reorder the text after them (bidi overrides, embeddings, isolates, marks). Anyone may register,
 * and the consent page asks "Allow <name> to use Lavendly as <email>?": such a name could pass for
 * another application or turn the question around. Joiners (ZWJ, ZWNJ) are allowed: emoji
 * sequences and Persian names need them. The console shows the same set written out.
 */
const DECEPTIVE = /\u034F|[\u00AD\u061C\u115F\u1160\u17B4\u17B5\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\u3164\uFEFF\uFFA0]/;

export async function registerClient(db: Db, metadata: Record<string, unknown>): Promise<OAuthClient> {
  const uris = metadata.redirect_uris;
  if (!Array.isArray(uris) || !uris.length || uris.length > MAX_URIS || !uris.every((u) => typeof u === 'string')) {
    throw new ClientMetadataError('invalid_redirect_uri', `redirect_uris must be a list of 1 to ${MAX_URIS} URIs.`);
  }
  const bad = (uris as string[]).find((u) => !acceptableRedirectUri(u));
  if (bad !== undefined) throw new ClientMetadataError('invalid_redirect_uri', `Redirect URI not allowed: ${bad.slice(0, 200)} (https, http on loopback, or an app's own scheme, in normal form without a fragment).`);
  const method = metadata.token_endpoint_auth_method;
  if (method !== undefined && method !== 'none') {
    throw new ClientMetadataError('invalid_client_metadata', 'Only public clients are supported: token_endpoint_auth_method must be "none" (PKCE protects the code).');
  }
  const grants = metadata.grant_types;
  if (grants !== undefined && (!Array.isArray(grants) || !grants.includes('authorization_code'))) {
    throw new ClientMetadataError('invalid_client_metadata', 'grant_types must include authorization_code.');
  }
  const rawName = typeof metadata.client_name === 'string' ? metadata.client_name.trim() : '';
  const hidden = DECEPTIVE.exec(rawName)?.[0];
  if (hidden !== undefined) {
    const code = `U+${hidden.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    throw new ClientMetadataError('invalid_client_metadata', `client_name holds ${code}, an invisible or text-reordering character; use the name as people should read it.`);
  }
  const client: OAuthClient = {
    client_id: newId('mcpc'),
    client_name: cutText(rawName || 'MCP client', 200),
    redirect_uris: [...new Set(uris as string[])],
    created_at: nowIso(),
  };
  await db('oauth_clients').insert({ id: client.client_id, client_name: client.client_name, redirect_uris: JSON.stringify(client.redirect_uris), created_at: client.created_at });
  return client;
}

export async function findClient(db: Db, clientId: string): Promise<OAuthClient | null> {
  if (!clientId || clientId.length > 100) return null;
  const row = await db('oauth_clients').where({ id: clientId }).first();
  if (!row) return null;
  return { client_id: row.id, client_name: row.client_name, redirect_uris: JSON.parse(row.redirect_uris), created_at: row.created_at };
}

/** How long a registered client may go without redeeming a code before it is deleted. */
export const UNUSED_CLIENT_KEPT_MS = 24 * 3600_000;

/** Records that a client redeemed a code: it is in use and is kept. */
export async function markClientUsed(db: Db, clientId: string): Promise<void> {
  await db('oauth_clients').where({ id: clientId }).update({ used_at: nowIso() });
}

/**
 * Deletes clients that registered more than UNUSED_CLIENT_KEPT_MS ago and never redeemed a code,
 * at most `limit` a call; returns how many. Anyone may register (30 an hour per address), so
 * without this the table grew by every registration ever made. A client whose registration went
 * registers again (MCP clients do on `invalid_client`). Called once a minute by the server.
 */
export async function sweepUnusedClients(db: Db, now = clusterNow(), limit = 1000): Promise<number> {
  const before = new Date(now - UNUSED_CLIENT_KEPT_MS).toISOString();
  const ids = await db('oauth_clients').whereNull('used_at').where('created_at', '<', before).limit(limit).pluck('id');
  if (!ids.length) return 0;
  return db('oauth_clients').whereIn('id', ids).whereNull('used_at').del();
}
