/**
 * The console in Chromium under awkward conditions a person runs into: a mangled or mistyped link,
 * names and prompts of one endless word or of markup, a workflow deleted while its page is open,
 * the server gone at the moment of signing out, an account with more workflows than fit a page, and
 * moving between pages with the keyboard, two people taking turns on one browser. No page may
 * throw an uncaught error.
 */
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  apiCall, createUser, horizontalOverflow, pngBytes, signedInConsole, signInAs, startConsoleServer,
  type Browser, type ConsoleServer, type Page,
} from './harness.js';

const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';
const MARKUP = '<script>window.__xss=1</script>"><img src=x onerror="window.__xss=2">';

let server: ConsoleServer;
let browser: Browser;
let page: Page;
let apiKey: string;
let accountId: string;
let pageErrors: string[] = [];

const callApi = (method: string, path: string, body?: unknown) => apiCall(server.origin, apiKey, method, path, body);

async function createWorkflow(fields: Record<string, unknown> = {}): Promise<string> {
  const made = await callApi('POST', '/workflows', { name: 'Plain', shots: [{ prompt: 'a fox', duration_s: 1 }], ...fields });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  return made.body.id as string;
}

function signIn(email = EMAIL): Promise<void> {
  return signInAs(page, server.origin, email, PASSWORD);
}

/** Stops the server and starts it again on the same port and data dir (the sessions survive). */
async function restartServer(whileDown: () => Promise<void>): Promise<void> {
  await server.served.running.close(2_000);
  try {
    await whileDown();
  } finally {
    await startAgain();
  }
}

async function startAgain(): Promise<void> {
  const { startServe } = await import('../../src/cli/commands/serve.js');
  const port = Number(new URL(server.origin).port);
  server.served = await startServe({ env: server.env, out: () => {}, err: () => {} }, { port, host: '127.0.0.1' });
}

describe('the console under awkward conditions', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    server = await startConsoleServer();
    ({ apiKey, accountId, browser, page, pageErrors } = await signedInConsole(server, { account: 'Awkward studio', email: EMAIL, password: PASSWORD }));
  }, 120_000);

  afterEach(() => {
    expect(pageErrors.splice(0), 'uncaught errors in the page').toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.served.running.close(2_000);
    if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  it('answers a mangled or mistyped link with a not-found page, not a blank one or another page', async () => {
    for (const path of ['/workflows/%E0%A4%A', '/settings/nope', '/workflows/a/b', '/uploads/x']) {
      await page.goto(`${server.origin}${path}`);
      await page.getByRole('heading', { name: 'Page not found' }).waitFor();
      expect(pageErrors, path).toEqual([]);
    }
    await page.getByRole('link', { name: 'Go to your workflows' }).click();
    await page.getByRole('heading', { name: 'Your workflows' }).waitFor();
    // A trailing slash still reaches the page.
    await page.goto(`${server.origin}/settings/api-keys/`);
    await page.getByRole('heading', { name: 'Settings: API keys' }).waitFor();
  });

  it('moves focus to the new page\'s content after a keyboard navigation and after Back', async () => {
    await page.goto(`${server.origin}/workflows`);
    await page.getByRole('heading', { name: 'Your workflows' }).waitFor();
    const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
    await page.getByRole('link', { name: 'Usage' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Usage', exact: true }).waitFor();
    expect(await focused()).toBe('main');
    await page.keyboard.press('Tab'); // from the content on, not from the top of the page
    expect(await page.evaluate(() => !!document.activeElement?.closest('main'))).toBe(true);
    await page.goBack();
    await page.getByRole('heading', { name: 'Your workflows' }).waitFor();
    expect(await focused()).toBe('main');
  });

  it('wraps an endless word in a name, description or prompt and shows markup as text', async () => {
    const word = 'W'.repeat(190);
    const id = await createWorkflow({ name: word, description: `${MARKUP} ${word}`, shots: [{ prompt: `${MARKUP} ${word}`, duration_s: 1 }] });
    await page.goto(`${server.origin}/workflows/${id}`);
    await page.getByRole('heading', { name: 'Scene 1' }).waitFor();
    expect(await horizontalOverflow(page), 'workflow page').toEqual({ px: 0, culprits: [] });
    await page.getByText(MARKUP).first().waitFor();
    expect(await page.evaluate(() => ({ xss: (window as { __xss?: number }).__xss ?? 0, planted: document.querySelectorAll('img[src="x"]').length }))).toEqual({ xss: 0, planted: 0 });
    await page.getByRole('link', { name: 'Workflows', exact: true }).click();
    await page.getByRole('link', { name: word }).waitFor();
    expect(await horizontalOverflow(page), 'workflow list').toEqual({ px: 0, culprits: [] });

    // A channel's name sits in a flex row beside its Disconnect button (channels are added by an operator's admin key).
    const { createApiKey } = await import('../../src/accounts/accounts.js');
    const admin = await createApiKey(server.served.ctx.db, accountId, ['admin']);
    const channel = await fetch(`${server.origin}/v1/channels`, {
      method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ account_id: accountId, platform: 'local', credentials: {}, name: `${MARKUP.slice(0, 30)}${'C'.repeat(60)}` }),
    });
    expect(channel.status).toBe(201);
    await page.goto(`${server.origin}/settings/channels`);
    await page.locator('[data-channel="local"]').waitFor();
    expect(await horizontalOverflow(page), 'channels').toEqual({ px: 0, culprits: [] });
  });

  it('says so when the workflow is deleted while its page is open, and stops asking for it', async () => {
    const id = await createWorkflow({ name: 'Soon gone' });
    await page.goto(`${server.origin}/workflows/${id}`);
    await page.getByRole('heading', { name: 'Scene 1' }).waitFor();
    expect((await callApi('DELETE', `/workflows/${id}`)).status).toBe(204);
    await page.getByRole('button', { name: 'Estimate cost' }).click();
    await page.getByRole('heading', { name: 'Workflow not found' }).waitFor();
    expect(await page.getByRole('button', { name: 'Generate all scenes' }).count()).toBe(0);

    // Opened after the deletion (an old link): the progress poll, which runs until it gets a first
    // answer, stops at the not_found instead of asking every 1.5 s for as long as the tab is open.
    // A page of its own: the fake clock stays installed in a page for good.
    const later = await page.context().newPage();
    try {
      const polls: string[] = [];
      later.on('request', (r) => { if (r.url().includes('/generation-status')) polls.push(r.url()); });
      later.on('pageerror', (e) => pageErrors.push(`${later.url()}: ${e.message}`));
      await later.clock.install();
      await later.goto(`${server.origin}/workflows/${id}`);
      await later.getByRole('heading', { name: 'Workflow not found' }).waitFor();
      await later.clock.runFor(30_000);
      await later.evaluate(() => fetch('/auth/session')); // a round trip: every request the timers made has been seen
      expect(polls.length).toBeLessThanOrEqual(1);
    } finally {
      await later.close();
    }
  });

  it('keeps the person signed in, and says so, when signing out cannot reach the server', async () => {
    await page.goto(`${server.origin}/usage`);
    await page.getByTestId('available').waitFor();
    await restartServer(async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('alert').getByText(/Not signed out: the server could not be reached/).waitFor();
      expect(new URL(page.url()).pathname).toBe('/usage');
      await expect(page.getByText(EMAIL).count()).resolves.toBe(1);
    });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in$/);
    expect(await page.evaluate(async () => (await fetch('/v1/workflows')).status)).toBe(401);
    await signIn();
  });

  it('a session check that meets a failing proxy says so and offers a retry, instead of the sign-in page', async () => {
    await page.route('**/auth/session', (route) => route.fulfill({ status: 502, contentType: 'text/html', body: '<html><title>502 Bad Gateway</title></html>' }));
    try {
      await page.goto(`${server.origin}/usage`);
      await page.getByRole('alert').getByText(/cannot reach the server/).waitFor();
      expect(new URL(page.url()).pathname).toBe('/usage');
    } finally {
      await page.unroute('**/auth/session');
    }
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByTestId('available').waitFor(); // still signed in: the usage page itself
    expect(new URL(page.url()).pathname).toBe('/usage');
  });

  it('shows the recent uploads of this browser to the person who made them only', async () => {
    await page.getByRole('link', { name: 'Uploads' }).click();
    await page.locator('input[type="file"]').setInputFiles({ name: 'ada-secret-plan.png', mimeType: 'image/png', buffer: pngBytes(32) });
    const stored = page.getByRole('status').filter({ hasText: /Stored as ast_/ });
    await stored.waitFor();
    const assetId = String(await stored.locator('code').textContent());
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in$/);

    const { account: other } = await server.served.ctx.services.accounts.createAccount({ name: 'Next desk', credits: 0 });
    const made = await createUser(server.env, other.id, 'bob@example.com', PASSWORD);
    expect(made.code, made.output).toBe(0);
    await signIn('bob@example.com');
    await page.getByRole('link', { name: 'Uploads' }).click();
    await page.getByRole('heading', { name: 'Uploads', exact: true }).waitFor();
    expect(await page.getByText(/Recent uploads|ada-secret-plan/).count()).toBe(0);
    expect(await page.content()).not.toContain(assetId);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in$/);
    await signIn();
  });

  it('shows many workflows a page at a time, each page costing a few dozen requests, every one reachable', async () => {
    const existing = (await callApi('GET', '/workflows?limit=100')).body.data.length as number;
    for (let i = existing; i < 60; i++) await createWorkflow({ name: `Bulk ${String(i).padStart(2, '0')}` });
    const apiCalls: string[] = [];
    const count = (r: { url(): string }) => { if (new URL(r.url()).pathname.startsWith('/v1/')) apiCalls.push(r.url()); };
    page.on('request', count);
    await page.goto(`${server.origin}/workflows`);
    await page.getByRole('button', { name: 'Show more workflows' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('tbody [aria-busy="true"]').length === 0);
    page.off('request', count);
    expect(await page.locator('tbody tr').count()).toBe(25);
    expect(apiCalls.length).toBeLessThanOrEqual(30);
    await page.getByRole('button', { name: 'Show more workflows' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(50);
    await page.getByRole('button', { name: 'Show more workflows' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(60);
    await expect(page.getByRole('button', { name: 'Show more workflows' }).count()).resolves.toBe(0);
    const names = await page.locator('tbody tr td:first-child').allTextContents();
    expect(new Set(names).size).toBe(60);
  });
});
