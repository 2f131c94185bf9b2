/**
 * The console in Chromium renaming and deleting a workflow (a rename based on a version changed
 * elsewhere meanwhile, a workflow busy generating), and walking a webhook endpoint's deliveries and
 * a workflow's renders past their first page. No page may throw an uncaught error.
 */
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enqueue } from '../../src/jobs/index.js';
import { emitEvent } from '../../src/webhooks/events.js';
import { webhookOptionsFromEnv, type WebhookOptions } from '../../src/webhooks/index.js';
import {
  apiCall, horizontalOverflow, signedInConsole, startConsoleServer, webhookReceiver,
  type Browser, type ConsoleServer, type Page,
} from './harness.js';

const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';

let server: ConsoleServer;
let receiver: Awaited<ReturnType<typeof webhookReceiver>>;
let browser: Browser;
let page: Page;
let apiKey: string;
let accountId: string;
let pageErrors: string[] = [];

const callApi = (method: string, path: string, body?: unknown) => apiCall(server.origin, apiKey, method, path, body);

describe('managing workflows and long lists in the console', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    receiver = await webhookReceiver();
    const webhooks: WebhookOptions = { ...webhookOptionsFromEnv({}), addressPolicy: { allowEndpoints: [receiver.hostPort] } };
    server = await startConsoleServer({ services: { webhookOptions: webhooks } });
    ({ apiKey, accountId, browser, page, pageErrors } = await signedInConsole(server, { account: 'Manage studio', email: EMAIL, password: PASSWORD }));
  }, 120_000);

  afterEach(() => {
    expect(pageErrors.splice(0), 'uncaught errors in the page').toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.served.running.close(2_000);
    await receiver?.close();
    if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  it('renames a workflow, refuses a rename over a newer version and a delete while busy, then deletes it', async () => {
    const made = await callApi('POST', '/workflows', { name: 'First cut', shots: [{ prompt: 'a fox', duration_s: 1 }] });
    expect(made.status).toBe(201);
    const id = made.body.id as string;
    await page.goto(`${server.origin}/workflows/${id}`);
    await page.getByRole('heading', { name: 'First cut' }).waitFor();

    await page.getByRole('button', { name: 'Rename' }).click();
    expect(await horizontalOverflow(page), 'rename form').toEqual({ px: 0, culprits: [] });
    await page.getByLabel('New name').fill('Second cut');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByRole('heading', { name: 'Second cut' }).waitFor();
    expect((await callApi('GET', `/workflows/${id}`)).body).toMatchObject({ name: 'Second cut', version: 2 });

    // Someone else renames it while this page shows version 2: the console's rename is refused, not applied over theirs.
    await page.getByRole('button', { name: 'Rename' }).click();
    expect((await callApi('PUT', `/workflows/${id}`, { name: 'Their cut' })).status).toBe(200);
    await page.getByLabel('New name').fill('My cut');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByRole('alert').getByText(/Not renamed: this workflow was changed elsewhere .*version 3/).waitFor();
    await page.getByRole('heading', { name: 'Their cut' }).waitFor();
    expect((await callApi('GET', `/workflows/${id}`)).body.name).toBe('Their cut');
    await page.getByRole('button', { name: 'Cancel' }).click();

    // A scene generating makes the workflow busy (what a running generation leaves in the table).
    const db = server.served.ctx.db;
    await db('workflow_scenes').where({ workflow_id: id }).update({ status: 'generating' });
    await page.getByRole('button', { name: 'Delete workflow' }).click();
    await page.getByRole('alert').getByText(/Not deleted: a generation or render of this workflow is running/).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/workflows/${id}`);
    await db('workflow_scenes').where({ workflow_id: id }).update({ status: 'draft' });

    await page.getByRole('button', { name: 'Delete workflow' }).click();
    await page.waitForURL(/\/workflows$/);
    await page.getByRole('heading', { name: 'Your workflows' }).waitFor();
    expect((await callApi('GET', `/workflows/${id}`)).status).toBe(404);
  });

  it('shows an endpoint\'s deliveries a page at a time and keeps the older pages across a replay', async () => {
    const ep = await callApi('POST', '/webhooks/endpoints', { url: receiver.url, events: ['balance.low'] });
    expect(ep.status, JSON.stringify(ep.body)).toBe(201);
    const db = server.served.ctx.db;
    for (let i = 0; i < 60; i++) await emitEvent(db, { accountId, type: 'balance.low', payload: { available: i } });
    await page.goto(`${server.origin}/settings/webhooks`);
    await page.getByRole('button', { name: 'Show deliveries' }).click();
    await page.getByRole('button', { name: 'Show more deliveries' }).waitFor();
    expect(await page.locator('[data-delivery]').count()).toBe(50);
    await page.getByRole('button', { name: 'Show more deliveries' }).click();
    await expect.poll(() => page.locator('[data-delivery]').count()).toBe(60);
    await expect(page.getByRole('button', { name: 'Show more deliveries' }).count()).resolves.toBe(0);
    const ids = await page.locator('[data-delivery]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-delivery')));
    expect(new Set(ids).size).toBe(60);

    // A replay reloads the newest page; the older page shown stays.
    await page.locator('[data-delivery]').last().getByRole('button', { name: 'Replay' }).click();
    await expect.poll(() => page.locator('[data-delivery]').count()).toBe(61);
    await expect(page.getByRole('button', { name: 'Show more deliveries' }).count()).resolves.toBe(0);
  });

  it('shows a workflow\'s renders a page at a time', async () => {
    const made = await callApi('POST', '/workflows', { name: 'Many renders', shots: [{ prompt: 'a fox', duration_s: 1 }] });
    const id = made.body.id as string;
    // Finished (failed) renders written as a render leaves them: rendering 25 videos for real would take minutes.
    const db = server.served.ctx.db;
    for (let i = 0; i < 25; i++) {
      const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
      await db('renders').insert({
        id: `rnd_page${String(i).padStart(2, '0')}`, account_id: accountId, workflow_id: id, workflow_version: 1, status: 'failed', progress: 0,
        label: `Take ${i}`, generation_id: null, job_id: null, plan: JSON.stringify({ duration_s: 0, clips: [], tracks: [] }),
        width: 320, height: 180, scene_count: 1, scenes_reused: 0, output_key: null, duration_s: null,
        error: JSON.stringify({ code: 'render_failed', message: 'no scenes' }), created_at: at, updated_at: at, started_at: null, finished_at: at,
      });
    }
    await page.goto(`${server.origin}/workflows/${id}`);
    await page.getByRole('button', { name: 'Show more renders' }).waitFor();
    expect(await page.locator('[data-render]').count()).toBe(20);
    await page.getByRole('button', { name: 'Show more renders' }).click();
    await expect.poll(() => page.locator('[data-render]').count()).toBe(25);
    await expect(page.getByRole('button', { name: 'Show more renders' }).count()).resolves.toBe(0);
    const ids = await page.locator('[data-render]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-render')));
    expect(new Set(ids).size).toBe(25);
  });

  it('says why a render stands still while its job waits for the media store', async () => {
    const made = await callApi('POST', '/workflows', { name: 'Stalled', shots: [{ prompt: 'a fox', duration_s: 1 }] });
    const id = made.body.id as string;
    const db = server.served.ctx.db;
    // A render whose job the worker put back to wait out a store outage, as src/jobs/worker.ts does.
    const job = await enqueue(db, { type: 'render.lavendly-test-idle', payload: null, runAt: new Date(Date.now() + 3_600_000) });
    await db('jobs').where({ id: job.id }).update({ last_error: 'media store unavailable', waiting_for: 'storage' });
    const now = new Date().toISOString();
    await db('renders').insert({
      id: 'rnd_stalled', account_id: accountId, workflow_id: id, workflow_version: 1, status: 'running', progress: 0.1,
      job_id: job.id, plan: JSON.stringify({ duration_s: 1, clips: [], tracks: [] }), width: 640, height: 360, scene_count: 1,
      created_at: now, updated_at: now,
    });
    await page.goto(`${server.origin}/workflows/${id}`);
    await page.locator('[data-render="rnd_stalled"]').getByRole('status').getByText(/^The media store is not answering; the work waits for it and carries on by itself once it is back\. Next try /).waitFor();
    await db('renders').where({ id: 'rnd_stalled' }).update({ status: 'canceled', finished_at: now });
    await db('jobs').where({ id: job.id }).update({ status: 'canceled' });
  });
});
