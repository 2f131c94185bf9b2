/**
 * Connecting a YouTube or TikTok channel with OAuth 2.0 (RFC 6749 authorization code, RFC 7636
 * PKCE S256). `beginChannelConnection` stores a single-use `state` (bound to the console session
 * that asked, holding the PKCE verifier) and answers the platform's consent URL;
 * `finishChannelConnection` takes the platform's answer, checks the state, exchanges the code with
 * the verifier at the token endpoint and connects the channel with its tokens sealed.
 */
import type { Knex } from 'knex';
import { claimGrant, createGrant } from '../oauth/grants.js';
import { codeChallengeS256, newCodeVerifier } from '../oauth/pkce.js';
import { connectChannel, type Channel } from './channels.js';
import type { SecretsOptions } from './credentials.js';
import { send } from './http.js';
import { PublishError } from './types.js';
import { clusterNow } from '../db/cluster-time.js';

export type OAuthPlatform = 'youtube' | 'tiktok';

export interface OAuthProvider {
  platform: OAuthPlatform;
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Google calls the app `client_id`; TikTok calls it `client_key`. */
  clientIdField: 'client_id' | 'client_key';
  /** Space-separated (Google) or comma-separated (TikTok), as the platform wants it. */
  scope: string;
  /** Platform extras on the consent URL (Google: offline access, so a refresh token comes back). */
  extraParams: Record<string, string>;
  timeoutMs: number;
}

export type OAuthProviders = Partial<Record<OAuthPlatform, OAuthProvider>>;

/**
 * The platforms this server can connect, from the environment: a platform is offered when its
 * client id and secret are set. Every endpoint can be moved (tests point them at a local fake).
 */
export function oauthProvidersFromEnv(env: NodeJS.ProcessEnv): OAuthProviders {
  const out: OAuthProviders = {};
  if (env.LAVENDLY_YOUTUBE_CLIENT_ID && env.LAVENDLY_YOUTUBE_CLIENT_SECRET) {
    out.youtube = {
      platform: 'youtube',
      authorizeUrl: env.LAVENDLY_YOUTUBE_AUTHORIZE_URL || 'https://accounts.google.com/o/oauth2/v2/auth',
      tokenUrl: env.LAVENDLY_YOUTUBE_TOKEN_URL || 'https://oauth2.googleapis.com/token',
      clientId: env.LAVENDLY_YOUTUBE_CLIENT_ID,
      clientSecret: env.LAVENDLY_YOUTUBE_CLIENT_SECRET,
      clientIdField: 'client_id',
      scope: env.LAVENDLY_YOUTUBE_OAUTH_SCOPE || 'https://www.googleapis.com/auth/youtube.upload',
      extraParams: { access_type: 'offline', prompt: 'consent', include_granted_scopes: 'true' },
      timeoutMs: 30_000,
    };
  }
  if (env.LAVENDLY_TIKTOK_CLIENT_KEY && env.LAVENDLY_TIKTOK_CLIENT_SECRET) {
    out.tiktok = {
      platform: 'tiktok',
      authorizeUrl: env.LAVENDLY_TIKTOK_AUTHORIZE_URL || 'https://www.tiktok.com/v2/auth/authorize/',
      tokenUrl: env.LAVENDLY_TIKTOK_TOKEN_URL || 'https://open.tiktokapis.com/v2/oauth/token/',
      clientId: env.LAVENDLY_TIKTOK_CLIENT_KEY,
      clientSecret: env.LAVENDLY_TIKTOK_CLIENT_SECRET,
      clientIdField: 'client_key',
      scope: env.LAVENDLY_TIKTOK_OAUTH_SCOPE || 'user.info.basic,video.publish',
      extraParams: {},
      timeoutMs: 30_000,
    };
  }
  return out;
}

/** Why a connection could not finish; `code` goes back to the console in the redirect. */
export class ChannelConnectError extends Error {
  constructor(
    readonly code: 'not_configured' | 'invalid_state' | 'state_expired' | 'session_mismatch' | 'access_denied' | 'token_exchange_failed',
    message: string,
  ) {
    super(message);
    this.name = 'ChannelConnectError';
  }
}

/** How long a person has to come back from the consent page. */
const STATE_TTL_MS = 10 * 60_000;

const DEFAULT_NAMES: Record<OAuthPlatform, string> = { youtube: 'YouTube channel', tiktok: 'TikTok account' };

export async function beginChannelConnection(db: Knex, provider: OAuthProvider | undefined, input: {
  platform: OAuthPlatform; name?: string | null; accountId: string; userId: string; sessionId: string; redirectUri: string;
}): Promise<{ authorizeUrl: string; expiresAt: string }> {
  if (!provider) {
    throw new ChannelConnectError('not_configured', `Connecting ${input.platform} channels is not configured on this server (set its OAuth client id and secret).`);
  }
  const verifier = newCodeVerifier();
  const { secret: state, expiresAt } = await createGrant(db, {
    purpose: 'channel_connect', accountId: input.accountId, userId: input.userId, sessionId: input.sessionId, ttlMs: STATE_TTL_MS,
    data: { platform: input.platform, name: input.name?.trim() || DEFAULT_NAMES[input.platform], code_verifier: verifier, redirect_uri: input.redirectUri },
  });
  const url = new URL(provider.authorizeUrl);
  const params: Record<string, string> = {
    response_type: 'code',
    [provider.clientIdField]: provider.clientId,
    redirect_uri: input.redirectUri,
    scope: provider.scope,
    state,
    code_challenge: codeChallengeS256(verifier),
    code_challenge_method: 'S256',
    ...provider.extraParams,
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return { authorizeUrl: url.toString(), expiresAt };
}

interface TokenAnswer {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
  scope?: string;
  open_id?: string;
}

/**
 * Completes a connection from the platform's redirect (`code` and `state`, or `error`). The state
 * is claimed first, whatever follows, so it can never be used twice; it must belong to the same
 * console session that started the flow.
 */
export async function finishChannelConnection(db: Knex, providers: OAuthProviders, input: {
  state: string; code?: string; error?: string; sessionId: string | null; secrets: SecretsOptions;
}): Promise<Channel> {
  const grant = await claimGrant(db, 'channel_connect', input.state);
  if (grant === 'unknown') throw new ChannelConnectError('invalid_state', 'The connection request is unknown or was already used; start again.');
  if (grant === 'expired') throw new ChannelConnectError('state_expired', 'The connection took too long; start again.');
  if (!input.sessionId || grant.session_id !== input.sessionId) {
    throw new ChannelConnectError('session_mismatch', 'The connection was started by another sign-in; start again from the console.');
  }
  if (input.error || !input.code) throw new ChannelConnectError('access_denied', `The platform did not grant access (${input.error ?? 'no code'}).`);
  const platform = grant.data.platform as OAuthPlatform;
  const provider = providers[platform];
  if (!provider) throw new ChannelConnectError('not_configured', `Connecting ${platform} channels is no longer configured on this server.`);

  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code: input.code,
    redirect_uri: String(grant.data.redirect_uri),
    code_verifier: String(grant.data.code_verifier),
    [provider.clientIdField]: provider.clientId,
    client_secret: provider.clientSecret,
  });
  let body: TokenAnswer;
  try {
    const res = await send(platform, 'token exchange', provider.tokenUrl, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(), timeoutMs: provider.timeoutMs, beforeUpload: true,
    });
    if (res.status !== 200) throw new ChannelConnectError('token_exchange_failed', `The ${platform} token endpoint answered HTTP ${res.status}.`);
    body = JSON.parse(res.text) as TokenAnswer;
  } catch (err) {
    if (err instanceof ChannelConnectError) throw err;
    const why = err instanceof PublishError ? err.message : 'its answer is not JSON';
    throw new ChannelConnectError('token_exchange_failed', `The ${platform} token exchange failed: ${why}`);
  }
  if (typeof body.access_token !== 'string' || !body.access_token) {
    throw new ChannelConnectError('token_exchange_failed', `The ${platform} token endpoint answered no access token.`);
  }
  // The same credential shape the publishers renew from (src/publish/oauth.ts), sealed as ever.
  const credentials: Record<string, unknown> = {
    access_token: body.access_token,
    expires_at: new Date(clusterNow() + (Number(body.expires_in) || 3600) * 1000).toISOString(),
    ...(body.refresh_token ? { refresh_token: body.refresh_token } : {}),
    ...(body.scope ? { scope: body.scope } : {}),
    ...(body.open_id ? { open_id: body.open_id } : {}),
    [provider.clientIdField]: provider.clientId,
    client_secret: provider.clientSecret,
  };
  return connectChannel(db, { accountId: grant.account_id, platform, name: String(grant.data.name), credentials }, input.secrets);
}
