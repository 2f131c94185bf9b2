/**
 * The console in headless Chromium, at a phone's width (390 px), against `lavendly serve` on a fresh
 * SQLite data dir: sign in; add a webhook endpoint; create a workflow from shots; estimate;
 * generate and watch the scenes land (thumbnails, a <video> whose currentTime advances); check a
 * scene's quality; render and play the render; upload an image by drag-and-drop (the progress bar
 * reaches 100%); connect YouTube through the OAuth consent page of a local fake authorization
 * server; schedule a publication after the confirmation dialog; API keys (create shown once,
 * revoke); the webhook deliveries shown and one replayed; usage; the API playground; the session's
 * protections (cookie flags, a cross-site POST refused, another account's user kept out).
 * Every page: a screenshot in test-artifacts/console/, no serious or critical axe-core violation,
 * no sideways scrolling, no CSP violation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookOptionsFromEnv, type WebhookOptions } from '../../src/webhooks/index.js';
import { startFakeOAuth, type FakeOAuth } from '../helpers/fake-oauth.js';
import {
  axeViolations, createUser, horizontalOverflow, launchBrowser, pngBytes, screenshot, startConsoleServer, webhookReceiver,
  type Browser, type ConsoleServer, type Page,
} from './harness.js';

const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';
const LONG = 240_000; // generation and rendering with ffmpeg on a loaded 2-core machine

let server: ConsoleServer;
let browser: Browser;
let page: Page;
let receiver: Awaited<ReturnType<typeof webhookReceiver>>;
let oauth: FakeOAuth;
let accountId: string;
let workflowUrl = '';

/** Screenshot, axe and the 390 px layout check for the page as it is now. */
async function checkPage(name: string): Promise<void> {
  await screenshot(page, name);
  expect(await axeViolations(page), `axe on ${name}`).toEqual([]);
  expect(await horizontalOverflow(page), `sideways overflow on ${name}`).toEqual({ px: 0, culprits: [] });
  expect(await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []), `CSP violations on ${name}`).toEqual([]);
}

/** Waits until the <video> matched by `selector` plays: its currentTime moves past 0.2 s. */
async function expectPlaying(selector: string): Promise<void> {
  await page.locator(selector).first().scrollIntoViewIfNeeded();
  await page.locator(selector).first().evaluate(async (v: HTMLVideoElement) => { v.muted = true; await v.play(); });
  await page.waitForFunction((sel) => {
    const v = document.querySelector<HTMLVideoElement>(sel);
    return !!v && v.currentTime > 0.2;
  }, selector, { timeout: 60_000 });
}

// Each step waits on conditions (generation and rendering under load may take minutes), never on time.
describe('web console in Chromium', { timeout: LONG + 60_000 }, () => {
  beforeAll(async () => {
    receiver = await webhookReceiver();
    oauth = await startFakeOAuth({ consentPage: true }); // Google's consent page, played locally
    // The server's environment (its worker and generation service read it through the config):
    // small clips and a quick queue keep the test short.
    const env = { LAVENDLY_WEBHOOK_RETRY_SCHEDULE: '200ms,1s', LAVENDLY_WORKER_POLL_MS: '50', LAVENDLY_CLIP_SHORT_SIDE: '180' };
    const webhooks: WebhookOptions = { ...webhookOptionsFromEnv(env), addressPolicy: { allowEndpoints: [receiver.hostPort] } };
    server = await startConsoleServer({ env, services: { webhookOptions: webhooks, oauthProviders: { youtube: oauth.provider('youtube') } } });
    const { account } = await server.served.ctx.services.accounts.createAccount({ name: 'Bookshop studio', credits: 500 });
    accountId = account.id;
    const made = await createUser(server.env, accountId, EMAIL, PASSWORD);
    expect(made.code, made.output).toBe(0);
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    context.setDefaultTimeout(30_000);
    // Collected in every page (an init script runs outside the page's CSP).
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        const w = window as unknown as { __csp?: string[] };
        (w.__csp ??= []).push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    page = await context.newPage();
    page.on('dialog', (d) => void d.accept()); // window.confirm before revoking or deleting
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await receiver?.close();
    await oauth?.close();
  });

  it('sends a visitor to sign-in, refuses a wrong password, then signs in (never redirecting off-site)', async () => {
    await page.goto(`${server.origin}/workflows`);
    await page.waitForURL(/\/sign-in\?next=%2Fworkflows/);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await checkPage('01-sign-in');
    // A `next` pointing off-site is ignored (no open redirect through the sign-in page).
    await page.goto(`${server.origin}/sign-in?next=${encodeURIComponent('//evil.example/')}`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/workflows$/);
    await page.getByRole('heading', { name: 'Your workflows' }).waitFor();
    // Nor one the browser resolves off-site only after dropping a tab or a newline from it.
    for (const next of ['/\t/evil.example/x', '/\n/evil.example/x', '\t//evil.example/x']) {
      await page.goto(`${server.origin}/sign-in?next=${encodeURIComponent(next)}`);
      await page.waitForURL(/\/workflows$/);
      expect(new URL(page.url()).origin).toBe(server.origin);
    }
    await page.getByRole('heading', { name: 'Your workflows' }).waitFor();
    await checkPage('02-workflows-empty');
  });

  it('adds a webhook endpoint and shows its secret once', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.waitForURL(/\/settings\/webhooks$/);
    await page.getByLabel('URL').fill(receiver.url);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await expect.poll(() => page.getByTestId('secret').textContent()).toMatch(/^whsec_/);
    await checkPage('03-settings-webhooks-secret');
    await page.getByRole('button', { name: 'Done' }).click();
    await expect(page.getByTestId('secret').count()).resolves.toBe(0);
  });

  it('creates a workflow from two shots and estimates its cost', async () => {
    await page.getByRole('link', { name: 'Workflows' }).click();
    await page.getByLabel('Name').fill('Bookshop fox');
    await page.getByLabel('Shot 1 prompt').fill('A sleepy fox in a dusty bookshop finds an old map');
    await page.getByLabel('Seconds').first().fill('1');
    await page.getByRole('button', { name: 'Add a shot' }).click();
    await page.getByLabel('Shot 2 prompt').fill('The map glows with golden light');
    await page.getByLabel('Seconds').nth(1).fill('1');
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await page.waitForURL(/\/workflows\/wf_/);
    workflowUrl = page.url();
    await page.locator('li.scene').nth(1).waitFor();
    await page.getByRole('button', { name: 'Estimate cost' }).click();
    await expect.poll(() => page.getByTestId('estimate').textContent()).toMatch(/Estimate: \d+ credits in all/);
    await checkPage('04-workflow-new');
  });

  it('generates every scene and shows them land: progress, thumbnails, playing clips, quality', async () => {
    await page.getByRole('button', { name: 'Generate all scenes' }).click();
    await page.getByTestId('generation-progress').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('li.scene[data-status="generated"]').length === 2, null, { timeout: LONG });
    // Thumbnails decoded (not just present).
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('li.scene img')).filter((i) => i.complete && i.naturalWidth > 0).length === 2);
    await expectPlaying('li.scene video');
    await page.getByRole('button', { name: 'Check quality of scene 1' }).click();
    await page.getByText(/Quality (passed|failed) \(score [0-9.]+; signal checks only \(no vision model is configured\)\)/).waitFor();
    await page.locator('figure.graph svg').waitFor();
    await checkPage('05-workflow-generated');
  });

  it('renders the video for free and plays the render', async () => {
    await page.getByRole('button', { name: 'Render video' }).click();
    await page.waitForSelector('li.render[data-status="succeeded"] video', { timeout: LONG });
    await expectPlaying('li.render video');
    await checkPage('06-workflow-rendered');
  });

  it('uploads an image dropped on the page, the progress bar reaching 100%', async () => {
    await page.getByRole('link', { name: 'Uploads' }).click();
    await page.waitForURL(/\/uploads$/);
    const png = pngBytes(900).toString('base64'); // ~2.4 MB: several progress events
    const dataTransfer = await page.evaluateHandle((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'fox-map.png', { type: 'image/png' }));
      return dt;
    }, png);
    await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer });
    await page.getByText(/Stored as ast_/).waitFor({ timeout: 60_000 });
    await expect(page.getByTestId('percent').textContent()).resolves.toBe('100%');
    await expect(page.getByRole('progressbar', { name: 'Upload of fox-map.png' }).getAttribute('value')).resolves.toBe('100');
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('.assets img')).some((i) => i.complete && i.naturalWidth === 900));
    await checkPage('07-uploads');
  });

  it('connects a YouTube channel through the OAuth consent page (PKCE and state checked by the fake server)', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(/\/settings\/channels$/);
    await page.getByText('No channel yet').waitFor();
    await page.getByRole('button', { name: 'Connect YouTube' }).click();
    await page.waitForURL(`${oauth.url}/**`);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/\/settings\/channels\?connected=ch_/);
    await page.getByRole('status').getByText(/^Connected /).waitFor();
    await page.locator('[data-channel="youtube"]').waitFor();
    expect(oauth.tokenRequests.map((r) => r.status)).toEqual([200]);
    await checkPage('08-settings-channels-connected');
    // A link to this page with words of someone else's choosing: the page does not repeat them.
    await page.goto(`${server.origin}/settings/channels?error=${encodeURIComponent('call +1 555 0100 to restore your account')}&connected=ch_someone`);
    await page.getByRole('alert').getByText('The channel was not connected: something went wrong; try again.').waitFor();
    expect(await page.getByText(/555 0100|ch_someone/).count()).toBe(0);
  });

  it('schedules the video to the YouTube channel after the confirmation dialog', async () => {
    await page.goto(workflowUrl);
    await page.getByRole('button', { name: 'Publish or schedule…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Channel').selectOption({ index: 0 });
    const tomorrow = new Date(Date.now() + 24 * 3600_000);
    const local = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}T09:00`;
    await dialog.getByLabel('When (leave empty to post now)').fill(local);
    await dialog.getByRole('button', { name: 'Review' }).click();
    await dialog.getByText(/Schedule “Bookshop fox” to .+ \(youtube\) at/).waitFor();
    await checkPage('09-publish-confirm');
    await dialog.getByRole('button', { name: 'Confirm schedule' }).click();
    await page.locator('[data-publication] .s-scheduled').waitFor();
    await checkPage('09b-workflow-scheduled');
  });

  it('creates an API key shown once, then revokes it, after which the API refuses it', async () => {
    await page.goto(`${server.origin}/settings/api-keys`);
    await page.getByLabel('Name').fill('CI agent');
    await page.getByLabel(/ledger:write/).check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = String(await page.getByTestId('secret').textContent());
    expect(key).toMatch(/^lvd_/);
    const works = await fetch(`${server.origin}/v1/ledger`, { headers: { authorization: `Bearer ${key}` } });
    expect(works.status).toBe(200);
    await checkPage('10-settings-api-key-created');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('button', { name: 'Revoke CI agent' }).click(); // window.confirm accepted
    await page.getByText(/^revoked /).waitFor();
    await expect.poll(async () => (await fetch(`${server.origin}/v1/ledger`, { headers: { authorization: `Bearer ${key}` } })).status, { timeout: 10_000 }).toBe(401);
    await checkPage('11-settings-api-keys');
  });

  it('shows the webhook deliveries and replays one', async () => {
    await page.goto(`${server.origin}/settings/webhooks`);
    await page.getByRole('button', { name: 'Show deliveries' }).click();
    await page.locator('[data-delivery]').first().waitFor();
    const before = await page.locator('[data-delivery]').count();
    const received = receiver.requests.length;
    await page.getByRole('button', { name: 'Replay' }).first().click();
    await expect.poll(() => page.locator('[data-delivery]').count()).toBe(before + 1);
    await page.getByText('(replay)').first().waitFor();
    await expect.poll(() => receiver.requests.length, { timeout: 60_000 }).toBeGreaterThan(received);
    await checkPage('12-settings-webhooks-deliveries');
  });

  it('lists the workflow with its status and cost; the pages also fit a desktop window', async () => {
    await page.getByRole('link', { name: 'Workflows' }).click();
    const row = page.getByRole('row', { name: /Bookshop fox/ });
    await row.getByText('generated').waitFor();
    await expect.poll(() => row.textContent()).toMatch(/20 credits|\d+ credits/);
    await checkPage('12b-workflows-list');
    await page.setViewportSize({ width: 1280, height: 900 });
    try {
      await checkPage('12c-workflows-list-desktop');
      await page.goto(workflowUrl);
      await page.locator('li.render[data-status="succeeded"]').waitFor();
      await checkPage('12d-workflow-desktop');
    } finally {
      await page.setViewportSize({ width: 390, height: 844 });
    }
  });

  it('shows credits, the ledger and the month as a chart', async () => {
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByTestId('usage-chart').waitFor();
    await expect.poll(() => page.getByTestId('available').textContent()).toMatch(/\d+ credits/);
    await expect.poll(() => page.locator('section[aria-labelledby="ledger-h"] tbody tr').count()).toBeGreaterThan(1);
    await checkPage('13-usage');
  });

  it('sends a request from the API playground with the session', async () => {
    await page.getByRole('link', { name: 'API playground' }).click();
    await page.getByRole('button', { name: 'Send request' }).click();
    await expect.poll(() => page.getByTestId('answer').textContent()).toContain('Bookshop fox');
    await page.getByRole('heading', { name: 'Answer: 200' }).waitFor();
    await checkPage('14-playground');
  });

  it("refuses '..' as a path parameter in the playground instead of sending it to another address", async () => {
    // The browser would send DELETE /v1/workflows/{id}/tracks/.. as DELETE /v1/workflows/{id}/.
    const seen: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => { if (r.url().includes('/v1/workflows')) seen.push(`${r.method()} ${r.url()}`); };
    page.on('request', onRequest);
    await page.getByLabel('Operation').selectOption('detach_track');
    await page.getByLabel(/^id \(path/).fill(workflowUrl.split('/').pop()!);
    await page.getByLabel(/^track_id \(path/).fill('..');
    await page.getByRole('button', { name: 'Send request' }).click();
    await page.getByText("track_id cannot be '..'").waitFor();
    page.off('request', onRequest);
    expect(seen).toEqual([]);
  });

  it('keeps the session cookie out of scripts and other sites, and other accounts out of this workflow', async () => {
    const cookie = (await page.context().cookies()).find((c) => c.name === 'lavendly_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('lavendly_session');

    // A page of another origin (the receiver's port counts as the same *site*, so the browser
    // sends the cookie): its form-like POST creates nothing.
    const count = async () => (await server.served.ctx.db('workflows').count<{ n: number }[]>({ n: '*' }))[0]!.n;
    const before = Number(await count());
    const foreign = await page.context().newPage();
    await foreign.goto(receiver.url);
    await foreign.evaluate(async (url) => {
      await fetch(url, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ name: 'Planted', shots: [{ prompt: 'x' }] }) });
    }, `${server.origin}/v1/workflows`);
    await foreign.close();
    expect(Number(await count())).toBe(before);
    // The server saw it and refused it (the page itself cannot read a no-cors answer).
    const refused = () => server.logs.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
      .some((l) => l.method === 'POST' && l.path === '/v1/workflows' && l.status === 403);
    await expect.poll(refused).toBe(true);

    // Another account's user signs in and is sent on to this workflow: it does not exist for them.
    const { account: other } = await server.served.ctx.services.accounts.createAccount({ name: 'Other studio', credits: 0 });
    const made = await createUser(server.env, other.id, 'bob@example.com', PASSWORD);
    expect(made.code, made.output).toBe(0);
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      const bob = await context.newPage();
      await bob.goto(workflowUrl);
      await bob.waitForURL(/\/sign-in\?next=/);
      await bob.getByLabel('Email').fill('bob@example.com');
      await bob.getByLabel('Password').fill(PASSWORD);
      await bob.getByRole('button', { name: 'Sign in' }).click();
      await bob.waitForURL(workflowUrl);
      await expect.poll(() => bob.getByRole('alert').textContent()).toMatch(/not_found/);
      await bob.getByRole('link', { name: 'Workflows', exact: true }).click();
      await bob.getByText('No workflows yet').waitFor();
    } finally {
      await context.close();
    }
  });

  it('signs out, after which the API refuses the page', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);
    const status = await page.evaluate(async () => (await fetch('/v1/workflows')).status);
    expect(status).toBe(401);
  });
});
