// Webhook deliveries run on slots of their own: one account's receivers that accept and never
// answer hold every delivery slot for the whole delivery timeout, and another account's
// generation is still claimed and finishes meanwhile (as `serve` wires the worker).
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/cli/commands/worker.js';
import { createLogger } from '../../src/http/logging.js';
import type { RunningWorker } from '../../src/jobs/worker-main.js';
import { emitEvent, type WebhookOptions } from '../../src/webhooks/index.js';
import { defaultWebhookOptions } from '../../src/webhooks/options.js';
import { withWorkerEnv } from '../helpers/config.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../publish-http/fixtures.js';
import { startReceiver } from '../webhooks/receiver.js';

/** Accepts connections, reads what comes and never answers: counts the connections it holds. */
async function hangingReceiver() {
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    open.add(socket);
    socket.on('data', () => {});
    socket.on('close', () => open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    open,
    close: () => new Promise<void>((resolve) => { for (const s of open) s.destroy(); server.close(() => resolve()); }),
  };
}

const silent = () => createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

describe.each(testDatabases())('webhook lane (%s)', (kind) => {
  let server: TestServer | null = null;
  let worker: RunningWorker | null = null;
  let hanging: Awaited<ReturnType<typeof hangingReceiver>> | null = null;
  afterEach(async () => {
    // The receiver first: its hung-up connections end the deliveries the worker waits for.
    await hanging?.close();
    await worker?.stop({ abortAfterMs: 100 });
    await server?.close();
    worker = null;
    hanging = null;
    server = null;
  });

  it('hanging receivers fill the delivery slots; another account\'s generation still runs', async () => {
    hanging = await hangingReceiver();
    // Far longer than the test waits: a slot a delivery takes stays taken for the whole test.
    const webhookOptions: WebhookOptions = {
      ...defaultWebhookOptions, timeoutMs: 120_000, retryScheduleMs: [], addressPolicy: { allowEndpoints: [`127.0.0.1:${hanging.port}`] },
    };
    server = await startTestServer(kind, { services: { webhookOptions } });
    const env = { ...process.env, LAVENDLY_WORKER_CONCURRENCY: '2', LAVENDLY_WORKER_WEBHOOK_CONCURRENCY: '2', LAVENDLY_WORKER_POLL_MS: '20', LAVENDLY_CLIP_SHORT_SIDE: '180' };
    worker = await startJobWorker({ config: withWorkerEnv(server.config, env), logger: silent(), db: server.fresh.db, composed: server });

    const noisy = await server.account();
    const url = `http://127.0.0.1:${hanging.port}/hook`;
    for (let i = 0; i < 4; i++) {
      const res = await call(`${server.base}/webhooks/endpoints`, { key: noisy.key, body: { url, events: ['*'] } });
      expect(res.status, res.text).toBe(201);
    }
    // More deliveries than slots of either kind: without a lane of their own they would take both
    // generation slots too, and keep the queue ahead of the generation full.
    for (let i = 0; i < 2; i++) await emitEvent(server.fresh.db, { accountId: noisy.id, type: 'render.failed', payload: { render_id: `rnd_${i}` } });
    await until('the delivery slots to be held by the hanging receiver', async () => hanging!.open.size >= 2);

    const other = await server.account({ credits: 1000 });
    const wf = await call(`${server.base}/workflows`, { key: other.key, body: { name: 'Other', shots: [{ prompt: 'a lantern', duration_s: 1 }] } });
    expect(wf.status, wf.text).toBe(201);
    const gen = await call(`${server.base}/workflows/${wf.json.id}/generate`, { key: other.key, body: {} });
    expect(gen.status, gen.text).toBe(202);
    const final = await until('the other account\'s generation to finish', async () => {
      const st = (await call(`${server!.base}/workflows/${wf.json.id}/generation-status`, { key: other.key })).json;
      return st.status === 'succeeded' || st.status === 'failed' ? st : null;
    }, 30_000);
    expect(final.status, JSON.stringify(final)).toBe('succeeded');
    // Every delivery slot was still taken all along: the generation ran beside them, not after.
    expect(hanging.open.size).toBe(2);
  }, 60_000);

  it('one account\'s hanging receivers hold only its share of the slots; another account\'s webhook still arrives', async () => {
    hanging = await hangingReceiver();
    const healthy = await startReceiver(() => 204);
    const healthyPort = Number(new URL(healthy.url).port);
    const webhookOptions: WebhookOptions = {
      ...defaultWebhookOptions, timeoutMs: 120_000, retryScheduleMs: [], accountInFlight: 2,
      addressPolicy: { allowEndpoints: [`127.0.0.1:${hanging.port}`, `127.0.0.1:${healthyPort}`] },
    };
    server = await startTestServer(kind, { services: { webhookOptions } });
    const env = { ...process.env, LAVENDLY_WORKER_WEBHOOK_CONCURRENCY: '3', LAVENDLY_WORKER_POLL_MS: '20' };
    worker = await startJobWorker({ config: withWorkerEnv(server.config, env), logger: silent(), db: server.fresh.db, composed: server });
    try {
      const noisy = await server.account();
      for (let i = 0; i < 4; i++) {
        const res = await call(`${server.base}/webhooks/endpoints`, { key: noisy.key, body: { url: `http://127.0.0.1:${hanging.port}/hook`, events: ['*'] } });
        expect(res.status, res.text).toBe(201);
      }
      // Twelve deliveries for three slots: without a share per account they would take all three.
      for (let i = 0; i < 3; i++) await emitEvent(server.fresh.db, { accountId: noisy.id, type: 'render.failed', payload: { render_id: `rnd_${i}` } });
      await until('the noisy account\'s share of slots to be held', async () => hanging!.open.size >= 2);

      const other = await server.account();
      const res = await call(`${server.base}/webhooks/endpoints`, { key: other.key, body: { url: healthy.url, events: ['*'] } });
      expect(res.status, res.text).toBe(201);
      await emitEvent(server.fresh.db, { accountId: other.id, type: 'render.failed', payload: { render_id: 'rnd_other' } });
      await until('the other account\'s delivery to arrive', async () => healthy.requests.length >= 1, 30_000);
      expect(JSON.parse(healthy.requests[0]!.body).data).toEqual({ render_id: 'rnd_other' });

      // The noisy account's other ten were put off, not attempted: no attempt spent, none held.
      expect(hanging.open.size).toBe(2);
      const waiting = await server.fresh.db('webhook_deliveries').where({ account_id: noisy.id, status: 'pending', attempt: 0 })
        .andWhere((q) => q.whereNull('locked_until').orWhere('locked_until', '<', new Date().toISOString())).count({ n: '*' }).first();
      expect(Number(waiting?.n)).toBe(10);
    } finally {
      await healthy.close();
    }
  }, 60_000);
});
