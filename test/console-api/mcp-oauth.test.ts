/**
 * A remote MCP client connects without an API key: the official MCP client (Streamable HTTP, its
 * own OAuth support) finds the metadata from /mcp's 401, registers itself, sends the person to
 * this server's consent page (which this test fills in like a browser: sign in, Allow), redeems
 * the code with its PKCE verifier, and lists the tools with the token it got.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/console-auth/users.js';
import { sweepUnusedClients, UNUSED_CLIENT_KEPT_MS } from '../../src/oauth/clients.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'correct horse battery';
const REDIRECT = 'http://127.0.0.1:9/callback';

/** What a desktop MCP client keeps: its registration, the verifier, the tokens; the browser is ours. */
class MemoryProvider implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | null = null;
  get redirectUrl() { return REDIRECT; }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'Test agent', redirect_uris: [REDIRECT], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  state() { return 'client-state-1'; }
  clientInformation() { return this.info; }
  saveClientInformation(info: OAuthClientInformationMixed) { this.info = info; }
  tokens() { return this.saved; }
  saveTokens(tokens: OAuthTokens) { this.saved = tokens; }
  redirectToAuthorization(url: URL) { this.authorizationUrl = url; }
  saveCodeVerifier(v: string) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
}

/** The hidden fields and action of the page's form, as a browser would submit them. */
function formOf(html: string): URLSearchParams {
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    form.set(m[1]!, m[2]!.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))));
  }
  return form;
}

describe.each(testDatabases())('OAuth 2.1 for MCP clients on %s', (kind) => {
  let s: TestServer;
  let accountId: string;
  /** The client that went through the whole flow (set by that test). */
  let usedClientId = '';

  beforeAll(async () => {
    s = await startTestServer(kind);
    s.config.publicBaseUrl = s.origin;
    accountId = (await s.account({ name: 'Agent owner' })).id;
    await createUser(s.fresh.db, { accountId, email: 'ann@example.org', password: PASSWORD });
  });
  afterAll(async () => { await s.close(); });

  it('a 401 on /mcp names the protected-resource metadata, which names this server as the authorization server', async () => {
    const r = await call(`${s.origin}/mcp`, { body: { jsonrpc: '2.0', id: 1, method: 'ping' }, headers: { accept: 'application/json, text/event-stream' } });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe(`Bearer realm="lavendly", resource_metadata="${s.origin}/.well-known/oauth-protected-resource/mcp"`);
    // The challenge is /mcp's alone: another path's 401, after it, names no OAuth metadata.
    for (const other of [`${s.origin}/v1/workflows`, `${s.origin}/auth/session`]) {
      expect((await call(other)).headers.get('www-authenticate')).toBe('Bearer realm="lavendly"');
    }
    const prm = await call(`${s.origin}/.well-known/oauth-protected-resource/mcp`);
    expect(prm.json).toMatchObject({ resource: `${s.origin}/mcp`, authorization_servers: [s.origin] });
    const as = await call(`${s.origin}/.well-known/oauth-authorization-server`);
    expect(as.json).toMatchObject({
      issuer: s.origin, code_challenge_methods_supported: ['S256'], token_endpoint_auth_methods_supported: ['none'],
      registration_endpoint: `${s.origin}/oauth/register`,
    });
  });

  it('the official client registers, the person signs in and allows, the client gets a token and lists the tools', async () => {
    const provider = new MemoryProvider();
    const url = new URL(`${s.origin}/mcp`);
    const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
    const client = new Client({ name: 'oauth-test', version: '1.0.0' });
    await expect(client.connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(provider.info?.client_id).toMatch(/^mcpc_/);
    const authUrl = provider.authorizationUrl!;
    expect(authUrl.origin + authUrl.pathname).toBe(`${s.origin}/oauth/authorize`);
    expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');

    // The browser: the sign-in page, then the consent page, then Allow.
    const signInPage = await fetch(authUrl);
    expect(signInPage.status).toBe(200);
    const signInHtml = await signInPage.text();
    expect(signInHtml).toContain('Test agent');
    const signIn = formOf(signInHtml);
    signIn.set('email', 'ann@example.org');
    signIn.set('password', PASSWORD);
    const consent = await fetch(`${s.origin}/oauth/authorize`, { method: 'POST', body: signIn, headers: { origin: s.origin }, redirect: 'manual' });
    expect(consent.status).toBe(200);
    const cookie = consent.headers.get('set-cookie')!.split(';')[0]!;
    const consentHtml = await consent.text();
    expect(consentHtml).toContain('ann@example.org');
    const allow = formOf(consentHtml);
    allow.set('action', 'allow');
    const back = await fetch(`${s.origin}/oauth/authorize`, { method: 'POST', body: allow, headers: { origin: s.origin, cookie }, redirect: 'manual' });
    expect(back.status).toBe(303);
    const landed = new URL(back.headers.get('location')!);
    expect(landed.origin + landed.pathname).toBe(REDIRECT);
    expect(landed.searchParams.get('state')).toBe('client-state-1');
    expect(landed.searchParams.get('iss')).toBe(s.origin);
    const code = landed.searchParams.get('code')!;

    await first.finishAuth(code);
    expect(provider.saved?.access_token).toMatch(/^lvd_/);
    const second = new StreamableHTTPClientTransport(url, { authProvider: provider });
    const connected = new Client({ name: 'oauth-test', version: '1.0.0' });
    await connected.connect(second);
    const tools = await connected.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('list_workflows');
    const result = await connected.callTool({ name: 'list_workflows', arguments: {} });
    expect(result.isError).not.toBe(true);
    await connected.close();

    // The token is a key of Ann's account, named after the client; revoking it disconnects the client.
    const key = await s.fresh.db('api_keys').where({ name: 'MCP: Test agent' }).first();
    expect(key.account_id).toBe(accountId);
    await s.services.accounts.revokeApiKey(key.id);
    const after = await call(`${s.origin}/mcp`, { key: provider.saved!.access_token, body: { jsonrpc: '2.0', id: 1, method: 'ping' }, headers: { accept: 'application/json, text/event-stream' } });
    expect(after.status).toBe(401);
    // The code was single-use.
    const reuse = await fetch(`${s.origin}/oauth/token`, {
      method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: provider.info!.client_id, redirect_uri: REDIRECT, code_verifier: provider.verifier }),
    });
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as any).error).toBe('invalid_grant');
    usedClientId = provider.info!.client_id;
  });

  it('clients that never redeemed a code are deleted a day after they registered; a used one stays', async () => {
    expect(usedClientId).toMatch(/^mcpc_/);
    const unused: string[] = [];
    for (let i = 0; i < 3; i++) {
      const reg = await call(`${s.origin}/oauth/register`, { body: { client_name: `Idle ${i}`, redirect_uris: [REDIRECT] } });
      expect(reg.status).toBe(201);
      unused.push(reg.json.client_id);
    }
    const ids = async () => (await s.fresh.db('oauth_clients').pluck('id')) as string[];
    expect(await ids()).toEqual(expect.arrayContaining([usedClientId, ...unused]));
    expect(await sweepUnusedClients(s.fresh.db, Date.now() + UNUSED_CLIENT_KEPT_MS - 60_000)).toBe(0);
    expect(await sweepUnusedClients(s.fresh.db, Date.now() + UNUSED_CLIENT_KEPT_MS + 60_000)).toBeGreaterThanOrEqual(3);
    const left = await ids();
    expect(left).toContain(usedClientId);
    for (const id of unused) expect(left).not.toContain(id);
    // A swept client is unknown: the token endpoint says so, and the client registers again.
    const token = await fetch(`${s.origin}/oauth/token`, {
      method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', client_id: unused[0]!, redirect_uri: REDIRECT, code_verifier: 'v' }),
    });
    expect(token.status).toBe(401);
    expect(((await token.json()) as any).error).toBe('invalid_client');
  });

  it('refuses a wrong verifier, an unregistered redirect, a cross-site consent and a forged CSRF token', async () => {
    const reg = await call(`${s.origin}/oauth/register`, { body: { client_name: 'Other', redirect_uris: ['https://agent.example/cb'] } });
    expect(reg.status).toBe(201);
    const clientId = reg.json.client_id;
    expect((await call(`${s.origin}/oauth/register`, { body: { redirect_uris: ['http://evil.example/cb'] } })).json.error).toBe('invalid_redirect_uri');

    const verifier = 'v'.repeat(43);
    const { createHash } = await import('node:crypto');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const query = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: 'https://agent.example/cb', code_challenge: challenge, code_challenge_method: 'S256', state: 'st' });
    const unregistered = await fetch(`${s.origin}/oauth/authorize?${new URLSearchParams({ ...Object.fromEntries(query), redirect_uri: 'https://evil.example/cb' })}`, { redirect: 'manual' });
    expect(unregistered.status).toBe(400); // shown, never redirected
    // Malformed requests are shown too: anyone may register a client, so a redirect here would
    // send a browser wherever that client's redirect URI points, with nobody asked.
    const changes: Record<string, string>[] = [{ code_challenge_method: 'plain' }, { response_type: 'token' }, { resource: 'https://other.example/' }];
    for (const change of changes) {
      const malformed = await fetch(`${s.origin}/oauth/authorize?${new URLSearchParams({ ...Object.fromEntries(query), ...change })}`, { redirect: 'manual' });
      expect(malformed.status).toBe(400);
      expect(malformed.headers.get('location')).toBeNull();
      expect(await malformed.text()).toContain('The application sent an invalid request');
    }

    const signIn = new URLSearchParams(query);
    signIn.set('action', 'sign_in');
    signIn.set('email', 'ann@example.org');
    signIn.set('password', PASSWORD);
    const crossSite = await fetch(`${s.origin}/oauth/authorize`, { method: 'POST', body: signIn, headers: { origin: 'https://evil.example' }, redirect: 'manual' });
    expect(crossSite.status).toBe(403);
    const consent = await fetch(`${s.origin}/oauth/authorize`, { method: 'POST', body: signIn, headers: { origin: s.origin }, redirect: 'manual' });
    const cookie = consent.headers.get('set-cookie')!.split(';')[0]!;
    const allow = formOf(await consent.text());
    allow.set('action', 'allow');
    const forged = new URLSearchParams(allow);
    forged.set('csrf_token', 'x'.repeat(43));
    expect((await fetch(`${s.origin}/oauth/authorize`, { method: 'POST', body: forged, headers: { origin: s.origin, cookie }, redirect: 'manual' })).status).toBe(403);

    const back = await fetch(`${s.origin}/oauth/authorize`, { method: 'POST', body: allow, headers: { origin: s.origin, cookie }, redirect: 'manual' });
    const code = new URL(back.headers.get('location')!).searchParams.get('code')!;
    const wrong = await fetch(`${s.origin}/oauth/token`, {
      method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: clientId, redirect_uri: 'https://agent.example/cb', code_verifier: 'w'.repeat(43) }),
    });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as any).error).toBe('invalid_grant');
    expect(await s.fresh.db('api_keys').where({ name: 'MCP: Other' }).first()).toBeUndefined();
  });

  it('answers hostile text and malformed requests with a 4xx in each endpoint\'s own format, never a 500', async () => {
    const oauthJson = async (r: Response) => ({ status: r.status, type: r.headers.get('content-type'), body: (await r.json()) as { error: string; error_description: string } });
    const register = (init: RequestInit) => fetch(`${s.origin}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, ...init });
    // NUL would reach PostgreSQL in the insert; invalid UTF-8 would be stored patched up.
    const nul = await oauthJson(await register({ body: JSON.stringify({ client_name: 'a\u0000b', redirect_uris: ['https://a.example/cb'] }) }));
    expect(nul).toMatchObject({ status: 400, body: { error: 'invalid_client_metadata' } });
    expect(nul.body.error_description).toMatch(/NUL/);
    // Anyone may register: a name that hides characters or reverses the consent question around it
    // ('Allow <name> to use Lavendly as ...?') could pass for another application.
    for (const name of ['Claude\u200B', 'Trusted \u202Eppa', 'A\u2066B', 'Lau\u00ADnch']) {
      const hidden = await oauthJson(await register({ body: JSON.stringify({ client_name: name, redirect_uris: ['https://a.example/cb'] }) }));
      expect(hidden, JSON.stringify(name)).toMatchObject({ status: 400, body: { error: 'invalid_client_metadata' } });
      expect(hidden.body.error_description).toMatch(/U\+/);
    }
    // Joiners stay: emoji sequences and Persian names need them.
    expect((await register({ body: JSON.stringify({ client_name: 'Agent \u{1F468}\u200D\u{1F4BB} \u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645', redirect_uris: ['https://a.example/cb'] }) })).status).toBe(201);
    // A long name is cut to 200 units, never inside an emoji: half of one is a lone surrogate.
    const long = await register({ body: JSON.stringify({ client_name: `x${'\u{1F600}'.repeat(100)}`, redirect_uris: ['https://a.example/cb'] }) });
    expect(long.status).toBe(201);
    const longName = ((await long.json()) as { client_name: string }).client_name;
    expect(longName).toBe(`x${'\u{1F600}'.repeat(99)}`);
    expect((await s.fresh.db('oauth_clients').where({ client_name: longName }).first())?.client_name).toBe(longName);
    const latin1 = Buffer.concat([Buffer.from('{"client_name":"caf'), Buffer.from([0xe9]), Buffer.from('","redirect_uris":["https://a.example/cb"]}')]);
    expect(await oauthJson(await register({ body: latin1 }))).toMatchObject({ status: 400, body: { error: 'invalid_client_metadata', error_description: 'The body is not valid UTF-8.' } });
    expect(await oauthJson(await register({ body: 'x', headers: { 'content-type': 'text/plain' } }))).toMatchObject({ status: 415, body: { error: 'invalid_request' } });
    for (const uri of ['https:///cb', 'https://a.example/cb#', 'HTTPS://a.example/cb']) {
      expect((await oauthJson(await register({ body: JSON.stringify({ redirect_uris: [uri] }) }))).body.error).toBe('invalid_redirect_uri');
    }
    const put = await fetch(`${s.origin}/oauth/token`, { method: 'PUT' });
    expect(put.headers.get('allow')).toBe('POST');
    expect(await oauthJson(put)).toMatchObject({ status: 405, body: { error: 'invalid_request' } });
    const token = (form: string, headers: Record<string, string> = {}) => fetch(`${s.origin}/oauth/token`, {
      method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    }).then(oauthJson);
    expect(await token('grant_type=authorization_code&client_id=a%00b&code=x')).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await token(`grant_type=authorization_code&code=${'x'.repeat(20_000)}`)).toMatchObject({ status: 413, body: { error: 'invalid_request' } });
    expect(await token('grant_type=authorization_code', { 'content-encoding': 'gzip' })).toMatchObject({ status: 415, body: { error: 'invalid_request' } });

    // The consent page shows the problem as a page.
    const authorize = await fetch(`${s.origin}/oauth/authorize?client_id=a%00b&response_type=code`, { redirect: 'manual' });
    expect(authorize.status).toBe(400);
    expect(authorize.headers.get('content-type')).toMatch(/^text\/html/);
    const reg = await call(`${s.origin}/oauth/register`, { body: { client_name: 'Nul', redirect_uris: ['https://agent.example/cb'] } });
    const signIn = await fetch(`${s.origin}/oauth/authorize`, {
      method: 'POST', headers: { origin: s.origin, 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual',
      body: `client_id=${reg.json.client_id}&response_type=code&action=sign_in&email=a%00b&password=x`,
    });
    expect(signIn.status).toBe(400);
    expect(await signIn.text()).toContain('NUL');

    // The console's sign-in: the envelope, as its JSON API answers everything.
    const consoleSignIn = (body: string, headers: Record<string, string> = {}) => call(`${s.origin}/auth/sign-in`, {
      rawBody: body, headers: { 'content-type': 'application/json', origin: s.origin, ...headers },
    });
    const nulEmail = await consoleSignIn(JSON.stringify({ email: 'a\u0000@example.org', password: 'x' }));
    expect(nulEmail.status).toBe(400);
    expect(nulEmail.json.error.issues.body[0]).toMatchObject({ path: ['email'], code: 'invalid_text' });
    expect((await consoleSignIn('{}', { 'content-encoding': 'gzip' })).status).toBe(415);

    // A platform's callback with such a state is a state we never issued.
    const callback = await fetch(`${s.origin}/oauth/channels/callback?state=a%00b&code=c`, { redirect: 'manual' });
    expect(callback.status).toBe(303);
    expect(callback.headers.get('location')).toBe('/settings/channels?error=invalid_state');
  });
});
