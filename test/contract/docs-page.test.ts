/**
 * The API reference in a real headless browser: a real server, Debian's chromium driven by
 * playwright-core. The page must load with no console errors, no failed or off-site requests,
 * and show every operation of the spec; /v1/openapi.json must be the spec itself.
 */
import { get } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { loadSpec, specOperations } from './prism.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = process.env.LAVENDLY_DOCS_SCREENSHOT ?? '/tmp/lavendly-docs.png';

const spec = loadSpec();
const ops = specOperations(spec);

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startTestServer('sqlite');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('GET /v1/openapi.json', () => {
  it('serves the spec as JSON, without a key, cacheable by ETag', async () => {
    const res = await fetch(`${server.base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const etag = res.headers.get('etag');
    // The spec itself, plus this server's URL and the generated code samples (code-samples.test.ts).
    const served = await res.json();
    for (const item of Object.values<any>(served.paths)) for (const op of Object.values<any>(item)) delete op['x-codeSamples'];
    expect(served).toEqual({ ...spec, servers: [{ ...spec.servers[0], url: `${server.config.publicBaseUrl}/v1` }] });
    // node:http, not fetch: fetch adds `Cache-Control: no-cache` to conditional requests.
    const again = await new Promise<number>((resolve, reject) =>
      get(`${server.base}/openapi.json`, { headers: { 'if-none-match': etag! } }, (r) => {
        r.resume();
        resolve(r.statusCode!);
      }).on('error', reject),
    );
    expect(again).toBe(304);
    const post = await fetch(`${server.base}/openapi.json`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect((await post.json()).error.code).toBe('method_not_allowed');
  });
});

describe('GET /docs', () => {
  it('renders every operation in a headless browser with no errors and nothing fetched from elsewhere', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    const requested: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('request', (r) => requested.push(r.url()));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });

    const res = await page.goto(`${server.origin}/docs`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'none'");
    // Redoc gives each operation a section `operation/<operationId>` once the spec is rendered.
    await page.waitForFunction((n) => document.querySelectorAll('[data-section-id^="operation/"]').length >= n, ops.length, { timeout: 30_000 });
    await page.waitForLoadState('networkidle');

    const sections = await page.$$eval('[data-section-id^="operation/"]', (els) => els.map((e) => e.getAttribute('data-section-id')!.slice('operation/'.length)));
    expect(sections.sort()).toEqual(ops.map((o) => o.operationId).sort());
    const text = await page.evaluate(() => document.body.innerText);
    const missing = ops.filter((o) => !text.includes(o.op.summary)).map((o) => `${o.operationId}: ${o.op.summary}`);
    expect(missing).toEqual([]);
    expect(text).toContain(spec.info.title);

    await page.screenshot({ path: SCREENSHOT });
    await page.locator('[data-section-id="operation/create_workflow"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '-operation.png') });
    const offsite = requested.filter((u) => !u.startsWith(server.origin + '/') && !u.startsWith('blob:') && !u.startsWith('data:'));
    expect(offsite).toEqual([]);
    expect(requested).toEqual(expect.arrayContaining([`${server.origin}/docs/redoc.standalone.js`, `${server.base}/openapi.json`]));
    expect(problems).toEqual([]);
    await context.close();
  });
});
