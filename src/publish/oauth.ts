import { describeFailure, json, send, transient } from './http.js';
import { PublishError, type PublishRequest } from './types.js';
import { clusterNow } from '../db/cluster-time.js';

/** How a platform renews an access token from a refresh token (OAuth 2.0, RFC 6749 section 6). */
export interface RefreshSpec {
  platform: string;
  tokenUrl: string;
  /** The form field naming the app: `client_id` (Google) or `client_key` (TikTok). */
  clientIdField: 'client_id' | 'client_key';
  timeoutMs: number;
}

/** Renew a little before expiry, so a token cannot lapse in the middle of an upload. */
const EXPIRY_MARGIN_MS = 5 * 60_000;

function str(v: unknown): string | null {
  return typeof v === 'string' && v ? v : null;
}

/** Whether credentials can produce a token: an access token, or a refresh token with its app. */
export function hasUsableToken(credentials: Record<string, unknown>, clientIdField: 'client_id' | 'client_key'): boolean {
  return !!str(credentials.access_token)
    || (!!str(credentials.refresh_token) && !!str(credentials[clientIdField]) && !!str(credentials.client_secret));
}

/**
 * The bearer token for this publish: the stored access token while it is fresh, else a new one
 * from the refresh token. Renewed credentials (the platform may also rotate the refresh token) go
 * to `request.onCredentialsRefreshed` so the channel keeps them.
 */
export async function accessTokenFor(request: PublishRequest, spec: RefreshSpec): Promise<string> {
  const creds = request.channel.credentials;
  const current = str(creds.access_token);
  const expiresAt = typeof creds.expires_at === 'string' ? Date.parse(creds.expires_at) : NaN;
  const fresh = current && (Number.isNaN(expiresAt) || expiresAt - EXPIRY_MARGIN_MS > clusterNow());
  if (fresh) return current;
  const refreshToken = str(creds.refresh_token);
  const clientId = str(creds[spec.clientIdField]);
  const clientSecret = str(creds.client_secret);
  if (!refreshToken || !clientId || !clientSecret) {
    if (current) return current; // expired by our clock; let the platform decide
    throw new PublishError(`The ${spec.platform} channel '${request.channel.name}' has no access or refresh token; connect it again.`, false, 401);
  }
  const form = new URLSearchParams({
    [spec.clientIdField]: clientId, client_secret: clientSecret, grant_type: 'refresh_token', refresh_token: refreshToken,
  });
  const res = await send(spec.platform, 'token refresh', spec.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    timeoutMs: spec.timeoutMs,
    beforeUpload: true,
  });
  if (res.status !== 200) {
    // 400/401 (invalid_grant): the user revoked access or the token expired for good.
    throw new PublishError(describeFailure(spec.platform, 'token refresh', res), transient(res.status), transient(res.status) ? res.status : 401);
  }
  const body = json<{ access_token?: string; expires_in?: number; refresh_token?: string }>(spec.platform, 'token refresh', res);
  if (!body.access_token) throw new PublishError(`${spec.platform} token refresh answered no access token`, false, 401);
  const renewed: Record<string, unknown> = {
    ...creds,
    access_token: body.access_token,
    expires_at: new Date(clusterNow() + (body.expires_in ?? 3600) * 1000).toISOString(),
    ...(body.refresh_token ? { refresh_token: body.refresh_token } : {}),
  };
  await request.onCredentialsRefreshed?.(renewed);
  return body.access_token;
}
