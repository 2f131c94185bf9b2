import { createApiKey } from '../accounts/accounts.js';
import type { Db } from '../db/knex.js';
import { findClient, markClientUsed } from './clients.js';
import { claimGrant, createGrant } from './grants.js';
import { verifierMatches } from './pkce.js';
import { cutText } from '../util/text-cut.js';

/**
 * This server as an OAuth 2.1 authorization server for MCP clients: a person who is signed in to
 * the console approves a client, the client receives a one-minute, single-use code and redeems it
 * with its PKCE verifier for an access token. The access token is an ordinary API key of the
 * person's account (no scopes, named after the client): /mcp and the API accept it unchanged, it
 * shows in the console's key list, and revoking it there disconnects the client.
 */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string | null;
  resource: string | null;
}

export class TokenRequestError extends Error {
  constructor(readonly error: 'invalid_request' | 'invalid_grant' | 'invalid_client' | 'unsupported_grant_type', message: string) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

const CODE_TTL_MS = 60_000;

export async function issueAuthorizationCode(db: Db, request: AuthorizationRequest, who: { accountId: string; userId: string }): Promise<string> {
  const { secret } = await createGrant(db, {
    purpose: 'mcp_code', accountId: who.accountId, userId: who.userId, clientId: request.clientId, ttlMs: CODE_TTL_MS,
    data: { redirect_uri: request.redirectUri, code_challenge: request.codeChallenge, scope: request.scope, resource: request.resource },
  });
  return secret;
}

export async function redeemAuthorizationCode(db: Db, form: {
  code: string; clientId: string; redirectUri: string; codeVerifier: string;
}): Promise<{ accessToken: string; scope: string; keyId: string }> {
  const client = await findClient(db, form.clientId);
  if (!client) throw new TokenRequestError('invalid_client', 'Unknown client_id; register first.');
  const grant = await claimGrant(db, 'mcp_code', form.code);
  if (grant === 'unknown') throw new TokenRequestError('invalid_grant', 'The code is unknown or was already used.');
  if (grant === 'expired') throw new TokenRequestError('invalid_grant', 'The code expired; authorize again.');
  if (grant.client_id !== client.client_id) throw new TokenRequestError('invalid_grant', 'The code was issued to another client.');
  if (grant.data.redirect_uri !== form.redirectUri) throw new TokenRequestError('invalid_grant', 'redirect_uri differs from the authorization request.');
  if (!verifierMatches(form.codeVerifier, String(grant.data.code_challenge))) {
    throw new TokenRequestError('invalid_grant', 'code_verifier does not match the code_challenge.');
  }
  const key = await createApiKey(db, grant.account_id, [], cutText(`MCP: ${client.client_name}`, 200));
  await markClientUsed(db, client.client_id);
  // The key is the one kind there is (no scopes: what the account's keys may do), so the answer
  // names the one scope this server supports, whatever the client asked for (RFC 6749 5.1).
  return { accessToken: key.key, scope: 'mcp', keyId: key.id };
}
