/**
 * The MCP authorization pages (`/oauth/authorize`) in headless Chromium, as a person meets them
 * when a remote MCP client sends them there: the sign-in form, the consent form, Allow, and the
 * browser landing on the client's redirect URI (a local listener) with a code that the token
 * endpoint redeems. A real browser matters here: what it puts in `Origin` on a form post follows
 * the page's Referrer-Policy, and it holds the redirect after the post to the page's CSP.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, launchBrowser, startConsoleServer, type Browser, type ConsoleServer } from './harness.js';

const EMAIL = 'mo@example.com';
const PASSWORD = 'a long enough password';

let server: ConsoleServer;
let browser: Browser;
let app: http.Server;
let landed: Promise<URL>;

beforeAll(async () => {
  server = await startConsoleServer();
  const { account } = await server.served.ctx.services.accounts.createAccount({ name: 'Consent test', credits: 10 });
  const made = await createUser(server.env, account.id, EMAIL, PASSWORD);
  expect(made.code, made.output).toBe(0);
  // The MCP client's loopback redirect URI (RFC 8252): resolves with the first URL it is sent to.
  let arrive: (url: URL) => void;
  landed = new Promise((resolve) => { arrive = resolve; });
  app = http.createServer((req, res) => {
    arrive(new URL(req.url!, 'http://127.0.0.1'));
    res.end('You may close this window.');
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  app?.close();
  await server?.close();
});

async function register(redirectUri: string): Promise<string> {
  const res = await fetch(`${server.origin}/oauth/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Desk agent', redirect_uris: [redirectUri] }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { client_id: string }).client_id;
}

describe('MCP authorization pages in Chromium', () => {
  it('signs in, allows, and lands on the client with a code the token endpoint redeems', { timeout: 120_000 }, async () => {
    const redirectUri = `http://127.0.0.1:${(app.address() as AddressInfo).port}/callback`;
    const clientId = await register(redirectUri);
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${server.origin}/oauth/authorize`);
    authorize.search = new URLSearchParams({
      response_type: 'code', client_id: clientId, redirect_uri: redirectUri, state: 'st-1', scope: 'admin ledger:write',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    }).toString();

    const page = await browser.newPage();
    const refusals: number[] = [];
    page.on('response', (r) => { if (r.url().startsWith(`${server.origin}/oauth/authorize`) && r.status() === 403) refusals.push(r.status()); });
    await page.goto(authorize.toString());
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Allow' }).click();
    const url = await Promise.race([landed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`never landed; page at ${page.url()}`)), 30_000))]);
    expect(refusals).toEqual([]);
    expect(url.pathname).toBe('/callback');
    expect(url.searchParams.get('state')).toBe('st-1');
    expect(url.searchParams.get('iss')).toBe(server.origin);

    const token = await fetch(`${server.origin}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code: url.searchParams.get('code')!, client_id: clientId, redirect_uri: redirectUri, code_verifier: verifier }),
    });
    expect(token.status).toBe(200);
    // The key has no scopes, whatever was asked: the answer names the one scope there is.
    expect(await token.json()).toMatchObject({ token_type: 'Bearer', scope: 'mcp', access_token: expect.stringMatching(/^lvd_/) });
    await page.close();
  });

  it('lets the consent form lead to an app\'s own scheme (its CSP names the scheme)', async () => {
    const clientId = await register('com.example.desk:/oauth');
    const context = await browser.newContext();
    const cookie = await fetch(`${server.origin}/auth/sign-in`, {
      method: 'POST', headers: { 'content-type': 'application/json', origin: server.origin }, body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    }).then((r) => r.headers.get('set-cookie')!.split(';')[0]!.split('='));
    await context.addCookies([{ name: cookie[0]!, value: cookie[1]!, url: server.origin }]);
    const page = await context.newPage();
    const consent = await page.goto(`${server.origin}/oauth/authorize?${new URLSearchParams({
      response_type: 'code', client_id: clientId, code_challenge: 'c'.repeat(43), code_challenge_method: 'S256',
    })}`);
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    expect(consent!.headers()['content-security-policy']).toContain("form-action 'self' com.example.desk:;");
    await context.close();
  });
});
