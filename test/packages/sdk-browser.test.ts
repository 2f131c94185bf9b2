/**
 * @lavendly/sdk in a browser: the tarball installed outside the repository, bundled by esbuild into
 * a page served from another origin than the API, run by Debian's chromium (headless) against a
 * live server with a jobs worker. The page creates a webhook endpoint and a workflow, iterates
 * pages, gets a typed 404, generates a scene and waits for it (CORS preflights for Authorization
 * and Idempotency-Key, ids from crypto.randomUUID), then verifies the real signed delivery the
 * server's webhook sender made, with crypto.subtle. It also uploads a PNG the page drew (a Blob,
 * through `uploadFile`'s slot and its cross-origin PUT), and has a Blob past the image limit refused
 * before a byte of it is sent.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/cli/commands/worker.js';
import { createLogger } from '../../src/http/logging.js';
import type { RunningWorker } from '../../src/jobs/worker-main.js';
import { webhookOptionsFromEnv, type WebhookOptions } from '../../src/webhooks/index.js';
import { installConsumer, packedPackages, type Installed } from '../helpers/packages.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { generationFromEnv, withWorkerEnv } from '../helpers/config.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface Delivery { headers: Record<string, string>; body: string }

/** A plain HTTP listener: serves the page (GET) and records webhook deliveries (POST /hook). */
async function pageAndReceiver(html: string) {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/hook') {
        deliveries.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      } else {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    deliveries,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

let consumer: Installed;
let api: TestServer;
let worker: RunningWorker | null = null;
let site: Awaited<ReturnType<typeof pageAndReceiver>>;
let browser: Browser;
let page: Page;
const allowed: string[] = [];

beforeAll(async () => {
  const { sdk } = await packedPackages();
  consumer = await installConsumer([sdk]);
  // The bundle a web app would ship: the installed package, resolved by esbuild for the browser.
  const bundle = await build({
    stdin: { contents: "export * from '@lavendly/sdk';", resolveDir: consumer.dir, loader: 'js' },
    bundle: true, minify: true, format: 'iife', globalName: 'LavendlySDK', platform: 'browser', target: 'es2022', write: false,
  });
  site = await pageAndReceiver(`<!doctype html><meta charset="utf-8"><title>SDK</title><script>${bundle.outputFiles[0]!.text}</script>`);
  allowed.push(new URL(site.origin).host);

  const env = { ...process.env, LAVENDLY_WORKER_POLL_MS: '20' };
  const webhooks: WebhookOptions = { ...webhookOptionsFromEnv(env), addressPolicy: { allowEndpoints: allowed } };
  const generation = generationFromEnv({ ...env, LAVENDLY_CLIP_SHORT_SIDE: '180' });
  api = await startTestServer('sqlite', { publicLinks: true, services: { webhookOptions: webhooks, generation } });
  worker = await startJobWorker({
    config: withWorkerEnv(api.config, env), logger: createLogger({ level: 'silent' }), db: api.fresh.db, composed: api,
  });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage();
  await page.goto(site.origin);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await worker?.stop({ abortAfterMs: 2_000 });
  await api?.close();
  await site?.close();
  await consumer?.remove();
});

describe('@lavendly/sdk bundled into a page, in headless Chromium', () => {
  it('runs the flow against the live server across origins, then verifies a real webhook delivery', async () => {
    const { key } = await api.account({ credits: 100 });
    // Failures come back as values: a page error's stack names the page's URL, not a file.
    const flow: any = await page.evaluate(async ({ baseUrl, apiKey, hook }) => {
      try {
        const { Lavendly, NotFoundError } = (window as any).LavendlySDK;
        const client = new Lavendly({ apiKey, baseUrl, maxRetries: 0 });
        const endpoint = await client.webhooks.createEndpoint({ url: hook, events: ['scene.generated'] });
        const created = [];
        for (const name of ['A', 'B', 'C']) created.push((await client.workflows.create({ name, shots: [{ prompt: 'a fox and a lantern', duration_s: 1 }] })).id);
        const seen: string[] = [];
        for await (const w of client.workflows.list({ limit: 2 })) seen.push(w.id);
        const missing = await client.workflows.get({ id: 'wf_missing' }).catch((e: unknown) => e);
        const job = await client.generate.start({ id: created[0] });
        const done = await client.generate.waitForGenerateScene(job, { interval: 200, timeout: 60_000 });
        return {
          secret: endpoint.secret as string, created, seen, status: done.status as string,
          missing: { notFound: missing instanceof NotFoundError, name: missing.name, code: missing.code, requestId: typeof missing.requestId },
          secure: window.isSecureContext, origin: location.origin,
        };
      } catch (e) {
        return { failed: `${(e as Error).name}: ${(e as Error).message}` };
      }
    }, { baseUrl: api.base, apiKey: key, hook: `${site.origin}/hook` });
    expect(flow.failed).toBeUndefined();

    expect(flow.origin).not.toBe(new URL(api.base).origin); // cross-origin: CORS did its part
    expect(flow.secure).toBe(true);
    expect(new Set(flow.seen)).toEqual(new Set(flow.created));
    // The class's name, though the page's bundler renamed every class when it minified.
    expect(flow.missing).toEqual({ notFound: true, name: 'NotFoundError', code: 'not_found', requestId: 'string' });
    expect(flow.status).toBe('succeeded');

    for (let i = 0; i < 200 && !site.deliveries.length; i++) await new Promise((r) => setTimeout(r, 100));
    const delivery = site.deliveries[0]!;
    expect(delivery, 'a scene.generated delivery').toBeDefined();
    const verified = await page.evaluate(async ({ body, headers, secret }) => {
      const { verifyWebhook, WebhookVerificationError } = (window as any).LavendlySDK;
      const event = await verifyWebhook(body, headers, secret).catch((e: Error) => ({ type: `refused: ${e.message}`, data: {} as any }));
      const tampered = await verifyWebhook(body.replace('"scene.generated"', '"render.succeeded"'), headers, secret).then(
        () => 'accepted', (e: unknown) => (e instanceof WebhookVerificationError ? 'refused' : String(e)));
      return { type: event.type, workflow: event.data.workflow_id, tampered };
    }, { body: delivery.body, headers: delivery.headers, secret: flow.secret });
    expect(verified).toEqual({ type: 'scene.generated', workflow: flow.created[0], tampered: 'refused' });
  });
  it('uploads a Blob the page drew; the stored asset is byte for byte that Blob, and an oversized Blob is refused up front', async () => {
    const { key } = await api.account({ credits: 0 });
    const sent: string[] = [];
    page.on('request', (r) => { if (r.method() === 'PUT') sent.push(r.url()); });
    const up: any = await page.evaluate(async ({ baseUrl, apiKey }) => {
      try {
        const { Lavendly } = (window as any).LavendlySDK;
        const client = new Lavendly({ apiKey, baseUrl, maxRetries: 0 });
        const canvas = document.createElement('canvas');
        canvas.width = 320;
        canvas.height = 180;
        const g = canvas.getContext('2d')!;
        g.fillStyle = '#7a5cc2';
        g.fillRect(0, 0, 320, 180);
        g.fillStyle = '#fff';
        g.fillText('drawn in the page', 20, 90);
        const png: Blob = await new Promise((resolve) => canvas.toBlob((b) => resolve(b!), 'image/png'));
        const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
        const asset = await client.assets.uploadFile(png, { kind: 'image', filename: 'drawn.png' });
        const huge = new Blob([new Uint8Array(26 * 1024 * 1024)], { type: 'image/png' });
        const refused = await client.assets.uploadFile(huge, { kind: 'image', filename: 'huge.png' }).then(() => null, (e: any) => ({ status: e.status, code: e.code }));
        return { asset, bytes: png.size, sha: hex(await crypto.subtle.digest('SHA-256', await png.arrayBuffer())), refused };
      } catch (e) {
        return { failed: `${(e as Error).name}: ${(e as Error).message}` };
      }
    }, { baseUrl: api.base, apiKey: key });
    expect(up.failed).toBeUndefined();
    expect(up.asset).toMatchObject({ kind: 'image', filename: 'drawn.png', bytes: up.bytes });
    const stored = await api.fresh.db('assets').where({ id: up.asset.id }).first();
    expect(stored, 'the asset row').toBeDefined();
    expect(up.refused).toEqual({ status: 413, code: 'asset_too_large' });
    expect(sent.length, 'one PUT: the drawn image only').toBe(1);
    const file = await fetch(up.asset.url as string);
    expect(file.status).toBe(200);
    const digest = createHash('sha256').update(Buffer.from(await file.arrayBuffer())).digest('hex');
    expect(digest).toBe(up.sha);
  });
});
