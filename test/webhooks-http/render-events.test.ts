// The whole tail of the flow with real parts: create_render (generation + stitch on the real job
// worker, as `serve` wires it) while the webhook receiver is down; the receiver, once back, gets
// `render.succeeded`, signed; then that render is published to the local channel.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../generated/sdk.gen.js';
import { schemas } from '../../generated/validators.gen.js';
import { startJobWorker } from '../../src/cli/commands/worker.js';
import { type GenerationService } from '../../src/generation/index.js';
import type { RunningWorker } from '../../src/jobs/worker-main.js';
import { webhookOptionsFromEnv, type WebhookOptions } from '../../src/webhooks/index.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createLogger } from '../../src/http/logging.js';
import { expectNoSecrets, until } from '../publish-http/fixtures.js';
import type { FileStorage } from '../../src/storage/index.js';
import { generationFromEnv, withWorkerEnv } from '../helpers/config.js';

async function listen(port = 0) {
  const bodies: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    bodies,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe.each(testDatabases())('render events reach a receiver that was down (%s)', (kind) => {
  let server: TestServer;
  let worker: RunningWorker | null = null;
  const allowed: string[] = [];

  beforeEach(async () => {
    const env = { ...process.env, LAVENDLY_WEBHOOK_RETRY_SCHEDULE: '200ms,400ms,800ms,1s,2s,4s', LAVENDLY_WORKER_POLL_MS: '20' };
    const webhooks: WebhookOptions = { ...webhookOptionsFromEnv(env), addressPolicy: { allowEndpoints: allowed } };
    // Small clips keep generation and stitching quick.
    const generation: GenerationService = generationFromEnv({ ...env, LAVENDLY_CLIP_SHORT_SIDE: '180' });
    server = await startTestServer(kind, { services: { webhookOptions: webhooks, generation } });
    worker = await startJobWorker({
      config: withWorkerEnv(server.config, env), logger: createLogger({ level: 'silent' }), db: server.fresh.db, composed: server,
    });
  });
  afterEach(async () => {
    await worker?.stop({ abortAfterMs: 2_000 });
    worker = null;
    await server.close();
    allowed.length = 0;
  });

  it('create_render while the receiver is down: render.succeeded arrives later; the render then publishes', async () => {
    const user = await server.account({ credits: 100 });
    const admin = await server.account({ scopes: ['admin'] });
    const probe = await listen();
    allowed.push(`127.0.0.1:${probe.port}`);
    await probe.close(); // down from here on
    const ep = await call(`${server.base}/webhooks/endpoints`, {
      key: user.key, body: { url: `http://127.0.0.1:${probe.port}/hook`, events: ['render.succeeded', 'publication.published'] },
    });
    expect(ep.status).toBe(201);

    const wf = await call(`${server.base}/workflows`, { key: user.key, body: { name: 'Fox', shots: [{ prompt: 'a fox and a lantern', duration_s: 1 }] } });
    const render = await call(`${server.base}/workflows/${wf.json.id}/renders`, { key: user.key, body: { max_credits: 100 } });
    expect(render.status, render.text).toBe(202);
    const done = await until('the render', async () => {
      const r = await call(`${server.base}/workflows/${wf.json.id}/renders/${render.json.id}`, { key: user.key });
      return ['succeeded', 'failed', 'canceled'].includes(r.json.status) ? r.json : null;
    }, 60_000);
    expect(done.status).toBe('succeeded');
    const failing = await until('a failed attempt', async () => {
      const d = (await call(`${server.base}/webhooks/endpoints/${ep.json.id}/deliveries`, { key: user.key })).json.data[0];
      return d?.attempt >= 1 ? d : null;
    });
    expect(failing).toMatchObject({ event_type: 'render.succeeded', status: 'pending' });

    const back = await listen(probe.port);
    try {
      await until('render.succeeded at the receiver', async () => back.bodies.some((b) => JSON.parse(b.body).type === 'render.succeeded'));
      const got = back.bodies.find((b) => JSON.parse(b.body).type === 'render.succeeded')!;
      const event = await verifyWebhook(got.body, got.headers as Record<string, string>, ep.json.secret);
      new Webhook(ep.json.secret).verify(got.body, got.headers as Record<string, string>);
      if (event.type !== 'render.succeeded') throw new Error(`unexpected ${event.type}`);
      expect(event.data.render_id).toBe(render.json.id);
      // Every delivered body is what the spec's `webhooks` declare.
      for (const b of back.bodies) {
        const body = JSON.parse(b.body) as { type: string };
        const schema = { 'render.succeeded': schemas.RenderSucceededEvent, 'render.failed': schemas.RenderFailedEvent, 'scene.generated': schemas.SceneGeneratedEvent, 'generation.finished': schemas.GenerationFinishedEvent, 'balance.low': schemas.BalanceLowEvent }[body.type];
        expect(schema?.safeParse(body).error, b.body).toBeUndefined();
      }
      expect(got.headers['webhook-id']).toBe(failing.event_id);

      // The render just made is what publish_video posts.
      const ch = await call(`${server.base}/channels`, { key: admin.key, body: { account_id: user.id, platform: 'local', name: 'Folder', credentials: {} } });
      const pub = await call(`${server.base}/workflows/${wf.json.id}/publish`, { key: user.key, body: { channel_id: ch.json.id, title: 'Fox' } });
      expect(pub.status, pub.text).toBe(202);
      expect(pub.json.render_id).toBe(render.json.id);
      const published = await until('the post', async () => {
        const p = await call(`${server.base}/publications/${pub.json.id}`, { key: user.key });
        return p.json.status === 'published' ? p.json : null;
      });
      const out = await server.fresh.db('renders').where({ id: render.json.id }).first('output_key');
      expect(fs.readFileSync(fileURLToPath(published.published_url))).toEqual(fs.readFileSync((server.services.storage as FileStorage).pathFor(out.output_key)));
      await until('publication.published at the receiver', async () => back.bodies.some((b) => JSON.parse(b.body).type === 'publication.published'));
      const logs = server.logs.map((l, i) => ({ where: `log line ${i}`, text: JSON.stringify(l) }));
      expectNoSecrets(logs, [ep.json.secret, user.key, admin.key]);
    } finally {
      await back.close();
    }
  }, 90_000);
});
