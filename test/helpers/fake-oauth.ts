/**
 * A local OAuth 2.0 authorization server standing in for Google (YouTube) or TikTok in tests,
 * strict where the real ones are strict: the authorization request must carry the client id, a
 * redirect URI, `state` and an S256 `code_challenge`; the token request must bring the same
 * redirect URI, the client's secret and the `code_verifier` that hashes to the challenge. Codes
 * are single-use and expire after a minute.
 *
 *   const fake = await startFakeOAuth();                 // auto-approves; { consentPage: true } shows Allow/Deny buttons
 *   server env: fake.env('youtube')                      // LAVENDLY_YOUTUBE_CLIENT_ID/_SECRET/_AUTHORIZE_URL/_TOKEN_URL
 *   or in-process: startTestServer(kind, { services: { oauthProviders: { youtube: fake.provider('youtube') } } })
 *   fake.tokenRequests / fake.issued                      // what happened, for assertions
 *   await fake.close();
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OAuthProvider } from '../../src/publish/connect.js';

export interface FakeOAuthOptions {
  clientId?: string;
  clientSecret?: string;
  /** Serve an HTML consent page with Allow and Deny buttons instead of approving at once. */
  consentPage?: boolean;
  /** Approve nothing: every authorization returns `error=access_denied`. */
  deny?: boolean;
}

export interface IssuedTokens {
  access_token: string;
  refresh_token: string;
  code: string;
}

export interface FakeOAuth {
  /** `http://127.0.0.1:<port>` */
  url: string;
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Every authorization request's query, in order. */
  authorizeRequests: URLSearchParams[];
  /** Every token request's form and the status answered. */
  tokenRequests: { form: URLSearchParams; status: number; error?: string }[];
  issued: IssuedTokens[];
  env(platform?: 'youtube' | 'tiktok'): Record<string, string>;
  provider(platform?: 'youtube' | 'tiktok'): OAuthProvider;
  close(): Promise<void>;
}

interface PendingCode {
  challenge: string;
  redirectUri: string;
  clientId: string;
  expires: number;
  used: boolean;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { text += d; if (text.length > 64 * 1024) req.destroy(); });
    req.on('end', () => resolve(new URLSearchParams(text)));
    req.on('error', reject);
  });
}

export async function startFakeOAuth(options: FakeOAuthOptions = {}): Promise<FakeOAuth> {
  const clientId = options.clientId ?? 'fake-client-id';
  const clientSecret = options.clientSecret ?? 'fake-client-secret';
  const codes = new Map<string, PendingCode>();
  const authorizeRequests: URLSearchParams[] = [];
  const tokenRequests: FakeOAuth['tokenRequests'] = [];
  const issued: IssuedTokens[] = [];

  /** The client id under either name: Google's `client_id` or TikTok's `client_key`. */
  const clientOf = (p: URLSearchParams) => p.get('client_id') ?? p.get('client_key');

  function approve(res: http.ServerResponse, q: URLSearchParams, allowed: boolean): void {
    const back = new URL(q.get('redirect_uri')!);
    if (allowed) {
      const code = crypto.randomBytes(24).toString('base64url');
      codes.set(code, { challenge: q.get('code_challenge')!, redirectUri: q.get('redirect_uri')!, clientId: clientOf(q)!, expires: Date.now() + 60_000, used: false });
      back.searchParams.set('code', code);
    } else {
      back.searchParams.set('error', 'access_denied');
    }
    back.searchParams.set('state', q.get('state')!);
    res.writeHead(302, { location: back.toString() }).end();
  }

  function badRequest(res: http.ServerResponse, why: string): void {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`fake authorization server: ${why}`);
  }

  function authorize(req: http.IncomingMessage, res: http.ServerResponse, q: URLSearchParams): void {
    authorizeRequests.push(q);
    if (q.get('response_type') !== 'code') return badRequest(res, 'response_type must be code');
    if (clientOf(q) !== clientId) return badRequest(res, 'unknown client');
    const redirect = q.get('redirect_uri');
    if (!redirect || !/^https?:\/\//.test(redirect)) return badRequest(res, 'redirect_uri must be an absolute http(s) URL');
    if (!q.get('state')) return badRequest(res, 'state is required');
    if (q.get('code_challenge_method') !== 'S256') return badRequest(res, 'code_challenge_method must be S256');
    if (!/^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge') ?? '')) return badRequest(res, 'code_challenge must be a base64url sha256');
    if (options.deny) return approve(res, q, false);
    if (!options.consentPage) return approve(res, q, true);
    const hidden = [...q].map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Fake consent</title></head>
<body><main><h1>Allow Lavendly to upload videos?</h1>
<form method="post" action="/authorize/decision">${hidden}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></form></main></body></html>`);
  }

  async function token(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const form = await readForm(req);
    const refuse = (status: number, error: string) => {
      tokenRequests.push({ form, status, error });
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error, error_description: `fake: ${error}` }));
    };
    if (form.get('grant_type') !== 'authorization_code') return refuse(400, 'unsupported_grant_type');
    if (clientOf(form) !== clientId || form.get('client_secret') !== clientSecret) return refuse(401, 'invalid_client');
    const code = codes.get(form.get('code') ?? '');
    if (!code || code.used || code.expires < Date.now()) return refuse(400, 'invalid_grant');
    code.used = true;
    if (code.redirectUri !== form.get('redirect_uri')) return refuse(400, 'invalid_grant');
    const verifier = form.get('code_verifier') ?? '';
    const hashed = crypto.createHash('sha256').update(verifier).digest('base64url');
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || hashed !== code.challenge) return refuse(400, 'invalid_grant');
    const tokens = { access_token: `fake-at-${crypto.randomBytes(12).toString('hex')}`, refresh_token: `fake-rt-${crypto.randomBytes(12).toString('hex')}`, code: form.get('code')! };
    issued.push(tokens);
    tokenRequests.push({ form, status: 200 });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({
      access_token: tokens.access_token, refresh_token: tokens.refresh_token, expires_in: 3599, token_type: 'Bearer', scope: 'upload',
    }));
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const run = async () => {
      if (req.method === 'GET' && url.pathname === '/authorize') return authorize(req, res, url.searchParams);
      if (req.method === 'POST' && url.pathname === '/authorize/decision') {
        const form = await readForm(req);
        return approve(res, form, form.get('decision') === 'allow');
      }
      if (req.method === 'POST' && url.pathname === '/token') return token(req, res);
      res.writeHead(404).end();
    };
    run().catch(() => { if (!res.headersSent) res.writeHead(500).end(); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const authorizeUrl = `${base}/authorize`;
  const tokenUrl = `${base}/token`;
  return {
    url: base, authorizeUrl, tokenUrl, clientId, clientSecret, authorizeRequests, tokenRequests, issued,
    env(platform = 'youtube'): Record<string, string> {
      return platform === 'youtube'
        ? { LAVENDLY_YOUTUBE_CLIENT_ID: clientId, LAVENDLY_YOUTUBE_CLIENT_SECRET: clientSecret, LAVENDLY_YOUTUBE_AUTHORIZE_URL: authorizeUrl, LAVENDLY_YOUTUBE_TOKEN_URL: tokenUrl }
        : { LAVENDLY_TIKTOK_CLIENT_KEY: clientId, LAVENDLY_TIKTOK_CLIENT_SECRET: clientSecret, LAVENDLY_TIKTOK_AUTHORIZE_URL: authorizeUrl, LAVENDLY_TIKTOK_TOKEN_URL: tokenUrl };
    },
    provider(platform = 'youtube'): OAuthProvider {
      return {
        platform, authorizeUrl, tokenUrl, clientId, clientSecret,
        clientIdField: platform === 'youtube' ? 'client_id' : 'client_key',
        scope: platform === 'youtube' ? 'upload' : 'video.publish', extraParams: {}, timeoutMs: 10_000,
      };
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
