// Webhooks over HTTP on a real server with the real job worker (as `serve` wires it): endpoints
// (secret shown once, internal addresses refused), signed deliveries retried on a short schedule
// (LAVENDLY_WEBHOOK_RETRY_SCHEDULE), a receiver that is down, 410 Gone, replay, and no secret in
// any later answer or log line. Events come from real publications on the local channel.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../generated/sdk.gen.js';
import { schemas } from '../../generated/validators.gen.js';
import { startJobWorker } from '../../src/cli/commands/worker.js';
import { createLogger } from '../../src/http/logging.js';
import type { RunningWorker } from '../../src/jobs/worker-main.js';
import { webhookOptionsFromEnv, type WebhookOptions } from '../../src/webhooks/index.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { expectNoSecrets, insertFinishedRender, oneShot, until } from '../publish-http/fixtures.js';
import { withWorkerEnv } from '../helpers/config.js';

interface Received { headers: http.IncomingHttpHeaders; body: string }

/** A receiver on 127.0.0.1 (a given port, or a free one) answering each request with `answer(n)`. */
async function receiver(answer: (n: number) => number, port = 0) {
  const requests: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answer(requests.length)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/hooks/lavendly`,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const SCHEDULE = '150ms,300ms,600ms,1s,2s,4s';

describe.each(testDatabases())('webhooks over HTTP (%s)', (kind) => {
  let server: TestServer;
  let worker: RunningWorker | null = null;
  let user: { id: string; key: string };
  let admin: { id: string; key: string };
  let allowed: string[];
  const responses: { where: string; text: string }[] = [];
  const secrets: string[] = [];

  async function api(url: string, init: Parameters<typeof call>[1] = {}) {
    const r = await call(`${server.base}${url}`, init);
    responses.push({ where: `${init.method ?? (init.body !== undefined ? 'POST' : 'GET')} ${url}`, text: r.text });
    return r;
  }

  beforeEach(async () => {
    // Loopback receivers only by explicit test configuration: exactly the endpoints listed here.
    allowed = [];
    const env = { ...process.env, LAVENDLY_WEBHOOK_RETRY_SCHEDULE: SCHEDULE, LAVENDLY_WEBHOOK_TIMEOUT_MS: '2000', LAVENDLY_WORKER_POLL_MS: '20' };
    const options: WebhookOptions = { ...webhookOptionsFromEnv(env), addressPolicy: { allowEndpoints: allowed } };
    server = await startTestServer(kind, { services: { webhookOptions: options } });
    user = await server.account();
    admin = await server.account({ scopes: ['admin'] });
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n')) if (line.trim()) server.logs.push(JSON.parse(line));
        cb();
      },
    });
    worker = await startJobWorker({
      config: withWorkerEnv(server.config, env), logger: createLogger({ level: 'info', destination: sink }),
      db: server.fresh.db, composed: server,
    });
  });
  afterEach(async () => {
    await worker?.stop({ abortAfterMs: 2_000 });
    worker = null;
    // Nothing secret after creation: not in any later answer, not in any log line.
    const later = responses.filter((r) => !r.where.startsWith('POST /webhooks/endpoints'));
    const logs = server.logs.map((l, i) => ({ where: `log line ${i}`, text: JSON.stringify(l) }));
    expectNoSecrets([...later, ...logs], [...secrets, user.key, admin.key]);
    await server.close();
    responses.length = 0;
    secrets.length = 0;
  });

  async function endpoint(url: string, events: string[]) {
    const res = await api('/webhooks/endpoints', { key: user.key, body: { url, events, description: 'test receiver' } });
    expect(res.status).toBe(201);
    expect(res.json.secret).toMatch(/^whsec_/);
    secrets.push(res.json.secret, res.json.secret.slice('whsec_'.length));
    return res.json as { id: string; secret: string };
  }

  /** Publishes the workflow's render now on a local channel: `publication.published` follows. */
  async function publishOnce(): Promise<string> {
    const wf = await api('/workflows', { key: user.key, body: oneShot });
    await insertFinishedRender(server.fresh.db, server.config.dataDir, user.id, wf.json.id);
    const ch = await api('/channels', { key: admin.key, body: { account_id: user.id, platform: 'local', name: 'Folder', credentials: {} } });
    const pub = await api(`/workflows/${wf.json.id}/publish`, { key: user.key, body: { channel_id: ch.json.id } });
    expect(pub.status).toBe(202);
    return pub.json.id;
  }

  async function deliveries(endpointId: string) {
    const res = await api(`/webhooks/endpoints/${endpointId}/deliveries`, { key: user.key });
    expect(res.status).toBe(200);
    return res.json.data as any[];
  }

  it('shows the secret once, refuses internal addresses, lists and deletes endpoints', async () => {
    const internal = await api('/webhooks/endpoints', { key: user.key, body: { url: 'http://10.1.2.3/hook', events: ['*'] } });
    expect(internal.status).toBe(400);
    expect(internal.json.error.code).toBe('url_not_allowed');
    const loopback = await api('/webhooks/endpoints', { key: user.key, body: { url: 'http://127.0.0.1:9/hook', events: ['*'] } });
    expect(loopback.json.error.code).toBe('url_not_allowed');
    const metadata = await api('/webhooks/endpoints', { key: user.key, body: { url: 'http://169.254.169.254/latest', events: ['*'] } });
    expect(metadata.json.error.code).toBe('url_not_allowed');
    const unknownEvent = await api('/webhooks/endpoints', { key: user.key, body: { url: 'https://hooks.example.org/x', events: ['video.exploded'] } });
    expect(unknownEvent.status).toBe(400);

    const r = await receiver(() => 200);
    allowed.push(`127.0.0.1:${r.port}`);
    try {
      const created = await endpoint(r.url, ['publication.published', 'render.succeeded']);
      const list = await api('/webhooks/endpoints', { key: user.key });
      expect(list.json.data).toEqual([{
        id: created.id, url: r.url, description: 'test receiver', events: ['publication.published', 'render.succeeded'],
        status: 'active', disabled_reason: null, created_at: expect.any(String), updated_at: expect.any(String),
      }]);
      expect(list.json.has_more).toBe(false);
      const other = await server.account();
      expect((await api('/webhooks/endpoints', { key: other.key })).json.data).toEqual([]);
      expect((await api(`/webhooks/endpoints/${created.id}`, { key: other.key, method: 'DELETE' })).status).toBe(404);
      expect((await api(`/webhooks/endpoints/${created.id}`, { key: user.key, method: 'DELETE' })).status).toBe(204);
      expect((await api('/webhooks/endpoints', { key: user.key })).json.data).toEqual([]);
      expect((await api(`/webhooks/endpoints/${created.id}`, { key: user.key, method: 'DELETE' })).status).toBe(404);
    } finally {
      await r.close();
    }
  });

  it('retries 500, 500, 200: three signed deliveries of one event under one webhook-id; replay sends it again', async () => {
    const r = await receiver((n) => (n <= 2 ? 500 : 200));
    allowed.push(`127.0.0.1:${r.port}`);
    try {
      const ep = await endpoint(r.url, ['publication.published']);
      const pubId = await publishOnce();
      const [delivery] = await until('the delivery to succeed', async () => {
        const list = await deliveries(ep.id);
        return list.length === 1 && list[0].status !== 'pending' ? list : null;
      });
      expect(delivery).toMatchObject({ status: 'succeeded', attempt: 3, response_status: 200, event_type: 'publication.published', replay_of: null });
      expect(r.requests).toHaveLength(3);
      expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([delivery.event_id]));
      for (const q of r.requests) {
        const headers = q.headers as Record<string, string>;
        // The reference library and our generated SDK both accept every attempt's signature.
        const viaLibrary = new Webhook(ep.secret).verify(q.body, headers) as any;
        const viaSdk = await verifyWebhook(q.body, headers, ep.secret);
        expect(viaSdk).toEqual(viaLibrary);
        expect(viaSdk).toMatchObject({ type: 'publication.published', data: { publication_id: pubId, status: 'published' } });
        expect(schemas.PublicationPublishedEvent.safeParse(viaSdk).error).toBeUndefined();
        await expect(verifyWebhook(q.body, headers, `whsec_${Buffer.from('another secret').toString('base64')}`)).rejects.toThrow();
      }

      const replay = await api(`/webhooks/deliveries/${delivery.id}/replay`, { key: user.key, method: 'POST' });
      expect(replay.status).toBe(202);
      expect(replay.json).toMatchObject({ replay_of: delivery.id, event_id: delivery.event_id, status: 'pending', attempt: 0 });
      await until('the replay', async () => r.requests.length === 4);
      expect(r.requests[3]!.headers['webhook-id']).toBe(delivery.event_id);
      new Webhook(ep.secret).verify(r.requests[3]!.body, r.requests[3]!.headers as Record<string, string>);
      const other = await server.account();
      expect((await api(`/webhooks/deliveries/${delivery.id}/replay`, { key: other.key, method: 'POST' })).status).toBe(404);
      expect((await api(`/webhooks/endpoints/${ep.id}/deliveries`, { key: other.key })).status).toBe(404);
    } finally {
      await r.close();
    }
  });

  it('a receiver that is down when the publication happens gets the event once it is back', async () => {
    const probe = await receiver(() => 200);
    const port = probe.port;
    allowed.push(`127.0.0.1:${port}`);
    const ep = await endpoint(probe.url, ['*']);
    await probe.close(); // down

    const pubId = await publishOnce();
    const failed = await until('a failed attempt', async () => {
      const list = await deliveries(ep.id);
      const d = list.find((x) => x.event_type === 'publication.published');
      return d && d.attempt >= 1 ? d : null;
    });
    expect(failed).toMatchObject({ status: 'pending', response_status: null });
    expect(failed.last_error).toBeTruthy();

    const back = await receiver(() => 200, port);
    try {
      const d = await until('the late delivery', async () => {
        const list = await deliveries(ep.id);
        const x = list.find((y) => y.event_type === 'publication.published');
        return x?.status === 'succeeded' ? x : null;
      });
      expect(d.attempt).toBeGreaterThanOrEqual(2);
      const got = back.requests.filter((q) => JSON.parse(q.body).type === 'publication.published');
      expect(got).toHaveLength(1);
      expect(got[0]!.headers['webhook-id']).toBe(d.event_id);
      const event = await verifyWebhook(got[0]!.body, got[0]!.headers as Record<string, string>, ep.secret);
      if (event.type !== 'publication.published') throw new Error(`unexpected ${event.type}`);
      expect(event.data.publication_id).toBe(pubId);
    } finally {
      await back.close();
    }
  });

  it('410 Gone disables the endpoint: no more deliveries, replay answers 409', async () => {
    const r = await receiver(() => 410);
    allowed.push(`127.0.0.1:${r.port}`);
    try {
      const ep = await endpoint(r.url, ['publication.published']);
      await publishOnce();
      const [d] = await until('the delivery to end', async () => {
        const list = await deliveries(ep.id);
        return list.length === 1 && list[0].status !== 'pending' ? list : null;
      });
      expect(d).toMatchObject({ status: 'failed', attempt: 1, response_status: 410 });
      const [listed] = (await api('/webhooks/endpoints', { key: user.key })).json.data;
      expect(listed).toMatchObject({ id: ep.id, status: 'disabled' });
      expect(listed.disabled_reason).toContain('410');

      await publishOnce();
      await until('the second post', async () => {
        const n = await server.fresh.db('webhook_events').where({ type: 'publication.published' }).count({ n: '*' }).first();
        return Number(n!.n) === 2;
      });
      expect(await deliveries(ep.id)).toHaveLength(1);
      const replay = await api(`/webhooks/deliveries/${d.id}/replay`, { key: user.key, method: 'POST' });
      expect(replay.status).toBe(409);
      expect(r.requests).toHaveLength(1);
    } finally {
      await r.close();
    }
  });
});
