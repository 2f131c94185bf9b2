/**
 * The console showing values someone else chose: names and descriptions with characters that draw
 * nothing or reorder the text after them (so one workflow could pass for another), a post link
 * that is a `javascript:` URL, and an API that answers the progress poll with 429 or 503. No page
 * may throw an uncaught error.
 */
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, signedInConsole, startConsoleServer, type Browser, type ConsoleServer, type Page } from './harness.js';

const EMAIL = 'eve@example.com';
const PASSWORD = 'correct horse battery staple';
/** Bidi overrides, embeddings and isolates, zero-width and other invisible characters. */
const HIDDEN = /\u034F|[\u00AD\u061C\u115F\u1160\u17B4\u17B5\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\u3164\uFEFF\uFFA0]/;

let server: ConsoleServer;
let browser: Browser;
let page: Page;
let apiKey: string;
let accountId: string;
let pageErrors: string[] = [];

const callApi = (method: string, path: string, body?: unknown) => apiCall(server.origin, apiKey, method, path, body);

async function createWorkflow(name: string, description?: string): Promise<string> {
  const made = await callApi('POST', '/workflows', { name, ...(description ? { description } : {}), shots: [{ prompt: `a fox \u202Eedih`, duration_s: 1 }] });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  return made.body.id as string;
}

/** Channels are added by an operator's admin key. */
async function createChannel(name: string): Promise<string> {
  const { createApiKey } = await import('../../src/accounts/accounts.js');
  const admin = await createApiKey(server.served.ctx.db, accountId, ['admin']);
  const res = await fetch(`${server.origin}/v1/channels`, {
    method: 'POST', headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ account_id: accountId, platform: 'local', credentials: {}, name }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Text of the page's main content and its title that still holds an invisible or reordering character. */
function hiddenLeft(p: Page): Promise<string[]> {
  return p.evaluate((source) => {
    const re = new RegExp(source);
    const out: string[] = [];
    if (re.test(document.title)) out.push(`title: ${document.title}`);
    const walker = document.createTreeWalker(document.getElementById('main')!, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) if (re.test(n.textContent ?? '')) out.push(JSON.stringify(n.textContent));
    return out;
  }, HIDDEN.source);
}

describe('the console showing hostile stored values', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    server = await startConsoleServer();
    ({ apiKey, accountId, browser, page, pageErrors } = await signedInConsole(server, { account: 'Hostile studio', email: EMAIL, password: PASSWORD }));
  }, 120_000);

  afterEach(() => {
    expect(pageErrors.splice(0), 'uncaught errors in the page').toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.served.running.close(2_000);
    if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  it('tells apart names that differ only by invisible characters, and keeps a bidi override from reordering the text around it', async () => {
    const names = ['Launch', 'Launch\u200B', 'Lau\u00ADnch', 'Invoice \u202Efdp.exe'];
    const ids: string[] = [];
    for (const n of names) ids.push(await createWorkflow(n, `desc \u202Eesrever · end`));
    await page.goto(`${server.origin}/workflows`);
    await page.locator(`a[href="/workflows/${ids[3]}"]`).waitFor();
    const shown = await Promise.all(ids.map((id) => page.locator(`a[href="/workflows/${id}"]`).innerText()));
    expect(new Set(shown).size, `shown as ${JSON.stringify(shown)}`).toBe(names.length);
    expect(await hiddenLeft(page)).toEqual([]);
    expect(shown[1]).toContain('U+200B');

    await page.goto(`${server.origin}/workflows/${ids[3]}`);
    await page.getByRole('heading', { name: 'Scene 1' }).waitFor();
    expect(await hiddenLeft(page)).toEqual([]);
    let confirmed = '';
    page.once('dialog', (d) => { confirmed = d.message(); });
    await page.getByRole('button', { name: 'Delete workflow' }).click();
    await page.waitForURL(/\/workflows$/);
    expect(confirmed).toContain('U+202E');
    expect(confirmed).not.toMatch(HIDDEN);

    await createChannel('Studio \u202Eoiduts');
    await page.goto(`${server.origin}/settings/channels`);
    await page.locator('[data-channel="local"]').waitFor();
    expect(await hiddenLeft(page)).toEqual([]);
  });

  it('links a post only when its address is http or https', async () => {
    const workflowId = await createWorkflow('Posted');
    const channelId = await createChannel('Local folder');
    const now = new Date().toISOString();
    const row = (id: string, url: string) => ({
      id, account_id: accountId, workflow_id: workflowId, channel_id: channelId, render_id: 'rnd_none', video_path: 'x.mp4',
      status: 'published', scheduled_for: now, published_url: url, created_at: now, updated_at: now, published_at: now,
    });
    // Stored values an attacker with the database, or a platform's odd answer, could leave there.
    await server.served.ctx.db('publications').insert([
      row('pub_script', 'javascript:window.__xss=1'), row('pub_data', 'data:text/html,<script>window.__xss=2</script>'),
      row('pub_web', 'https://www.youtube.com/watch?v=a1B2c3'),
    ]);
    await page.goto(`${server.origin}/workflows/${workflowId}`);
    await page.locator('[data-publication="pub_web"]').waitFor();
    const hrefs = await page.locator('[data-publication] a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(hrefs).toEqual(['https://www.youtube.com/watch?v=a1B2c3']);
    await expect(page.locator('[data-publication="pub_script"]').innerText()).resolves.toContain('javascript:window.__xss=1');
  });

  it('waits as long as a 429 or 503 asks before polling the progress again, and backs off while the API keeps failing', async () => {
    const id = await createWorkflow('Slow server');
    for (const [status, headers, most] of [[429, { 'retry-after': '120' }, 2], [503, {}, 20]] as const) {
      // A page each: the fake clock stays installed in a page for good.
      const later = await page.context().newPage();
      try {
        later.on('pageerror', (e) => pageErrors.push(`${later.url()}: ${e.message}`));
        const polls: string[] = [];
        await later.route('**/generation-status', (route) => {
          polls.push(route.request().url());
          return route.fulfill({ status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ error: { code: status === 429 ? 'rate_limited' : 'service_unavailable', message: 'busy', request_id: 'req_x' } }) });
        });
        await later.clock.install();
        await later.goto(`${server.origin}/workflows/${id}`);
        await later.getByRole('heading', { name: 'Scene 1' }).waitFor();
        // Small steps, each followed by a round trip, so a poll's answer arrives before the next step.
        for (let s = 0; s < 120; s += 1.5) {
          await later.clock.runFor(1_500);
          await later.evaluate(() => fetch('/auth/session'));
        }
        // Without honouring the wait or backing off: one request every 1.5 s, 80 in these two minutes for either.
        expect(polls.length, `${status}: ${polls.length} polls in 120 s`).toBeLessThanOrEqual(most);
      } finally {
        await later.close();
      }
    }
  });
  it('waits as long as a 429 asks before polling a running render\'s list again', async () => {
    const workflowId = await createWorkflow('Rendering');
    const now = new Date().toISOString();
    // A render the worker is busy with (no job of its own: nothing finishes it while the page watches).
    await server.served.ctx.db('renders').insert({
      id: 'rnd_running', account_id: accountId, workflow_id: workflowId, workflow_version: 1, status: 'running', progress: 0.5,
      plan: JSON.stringify({ duration_s: 1, clips: [], tracks: [] }), width: 640, height: 360, scene_count: 1, created_at: now, updated_at: now,
    });
    const later = await page.context().newPage();
    try {
      later.on('pageerror', (e) => pageErrors.push(`${later.url()}: ${e.message}`));
      const polls: string[] = [];
      await later.route(`**/v1/workflows/${workflowId}/renders**`, (route) => {
        polls.push(route.request().url());
        if (polls.length === 1) return route.continue(); // the first list shows the running render, which starts the poll
        return route.fulfill({ status: 429, headers: { 'content-type': 'application/json', 'retry-after': '120' }, body: JSON.stringify({ error: { code: 'rate_limited', message: 'slow down', request_id: 'req_x' } }) });
      });
      await later.clock.install();
      await later.goto(`${server.origin}/workflows/${workflowId}`);
      await later.locator('[data-render="rnd_running"]').waitFor();
      for (let s = 0; s < 120; s += 1.5) {
        await later.clock.runFor(1_500);
        await later.evaluate(() => fetch('/auth/session'));
      }
      // Without honouring the wait: the first list and then one request every 1.5 s, 81 in all.
      expect(polls.length, `${polls.length} render lists in 120 s`).toBeLessThanOrEqual(3);
    } finally {
      await later.close();
    }
  });
  it('gives up on a session check that gets no answer and offers a retry, instead of Loading… for good', async () => {
    const later = await page.context().newPage();
    try {
      later.on('pageerror', (e) => pageErrors.push(`${later.url()}: ${e.message}`));
      await later.route('**/auth/session', () => {}); // a proxy that holds the request and never answers
      await later.clock.install();
      await later.goto(`${server.origin}/usage`);
      await later.getByRole('status').getByText('Loading…').waitFor();
      await later.clock.runFor(31_000);
      await later.getByRole('alert').getByText('The console cannot reach the server: the server did not answer within 30 s.').waitFor();
      await later.unroute('**/auth/session');
      await later.getByRole('button', { name: 'Try again' }).click();
      await later.getByTestId('available').waitFor(); // still signed in: the usage page itself
    } finally {
      await later.close();
    }
  });
});
