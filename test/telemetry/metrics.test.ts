/**
 * `GET /metrics` of a live `serve` (API + its job worker), scraped over HTTP: the body parses as
 * the Prometheus text format; requests are counted by operation id and status; queue depth, the
 * oldest due job's age and open reservations are read from the database at scrape time; a real
 * generation shows ffmpeg and provider histograms; a real webhook post to a loopback receiver is
 * counted by outcome; the configured token is required.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from '../../src/cli/commands/serve.js';
import { createLogger } from '../../src/http/logging.js';
import { enqueue } from '../../src/jobs/index.js';
import { reserve } from '../../src/ledger/index.js';
import { startTelemetry } from '../../src/telemetry/index.js';
import { createEndpoint, deliver, emitEvent } from '../../src/webhooks/index.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { call } from '../helpers/server.js';
import { startReceiver } from '../webhooks/receiver.js';
import { parsePrometheus, sample, type Sample } from './prometheus.js';

process.env.LAVENDLY_CLIP_SHORT_SIDE = '180';
process.env.LAVENDLY_WORKER_POLL_MS = '50';

const TOKEN = 'scrape-token-for-tests';
const silent = () => createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

describe.each(testDatabases())('GET /metrics on %s', (kind) => {
  let fresh: FreshDb;
  let served: Awaited<ReturnType<typeof startServe>>;
  let origin: string;
  let key: string;
  const scrape = async (): Promise<Sample[]> => {
    const res = await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheus(await res.text());
  };

  beforeAll(async () => {
    fresh = await freshDb(kind);
    const env = { ...process.env, LAVENDLY_DATA_DIR: fresh.dataDir, DATABASE_URL: fresh.databaseUrl ?? '', LAVENDLY_METRICS_TOKEN: TOKEN };
    served = await startServe({ env, out: () => {}, err: () => {} }, { port: 0, logger: silent() });
    origin = served.running.origin;
    key = served.devKey!;
  });
  afterAll(async () => {
    await served.running.close();
    await fresh.close();
  });

  it('answers only with the token', async () => {
    expect((await call(`${origin}/metrics`)).status).toBe(401);
    const wrong = await call(`${origin}/metrics`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('unauthorized');
    expect((await call(`${origin}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(405);
  });

  it('counts requests by operation id and status, never by raw path or account', async () => {
    const before = await scrape();
    const count = (samples: Sample[], labels: Record<string, string>) =>
      sample(samples, 'lavendly_http_request_duration_seconds_count', labels) ?? 0;
    expect((await call(`${origin}/v1/workflows/wf_missing`, { key })).status).toBe(404);
    expect((await call(`${origin}/v1/workflows/wf_missing`, { key })).status).toBe(404);
    expect((await call(`${origin}/v1/workflows`, { key })).status).toBe(200);
    expect((await call(`${origin}/v1/no/such/path`, { key })).status).toBe(404);
    expect((await call(`${origin}/livez`)).status).toBe(200);
    const after = await scrape();
    expect(count(after, { operation: 'get_workflow', method: 'GET', status: '404' }) - count(before, { operation: 'get_workflow', method: 'GET', status: '404' })).toBe(2);
    expect(count(after, { operation: 'list_workflows', method: 'GET', status: '200' }) - count(before, { operation: 'list_workflows', method: 'GET', status: '200' })).toBe(1);
    expect(count(after, { operation: 'unmatched', method: 'GET', status: '404' }) - count(before, { operation: 'unmatched', method: 'GET', status: '404' })).toBe(1);
    expect(count(after, { operation: 'livez', method: 'GET', status: '200' }) - count(before, { operation: 'livez', method: 'GET', status: '200' })).toBe(1);
    // A histogram: buckets up to +Inf equal the count.
    expect(sample(after, 'lavendly_http_request_duration_seconds_bucket', { operation: 'get_workflow', status: '404', le: '+Inf' })).toBe(count(after, { operation: 'get_workflow', status: '404' }));
    const text = JSON.stringify(after);
    expect(text).not.toContain('wf_missing');
    expect(text).not.toContain('/no/such/path');
    expect(text).not.toContain(key);
  });

  it('reads queue depth, the oldest due job and open reservations from the database at scrape time', async () => {
    // A job type no worker handles stays queued: two due (one waiting for 90 s), one not yet due.
    await enqueue(served.ctx.db, { type: 'metrics_probe', payload: {}, runAt: new Date(Date.now() - 90_000) });
    await enqueue(served.ctx.db, { type: 'metrics_probe', payload: {} });
    await enqueue(served.ctx.db, { type: 'metrics_probe', payload: {}, runAt: new Date(Date.now() + 3_600_000) });
    const account = await served.ctx.services.accounts.createAccount({ name: 'Reserving', credits: 100 });
    await reserve(served.ctx.db, account.account.id, 30);
    await reserve(served.ctx.db, account.account.id, 12);
    const samples = await scrape();
    expect(sample(samples, 'lavendly_jobs', { type: 'metrics_probe', state: 'queued' })).toBe(3);
    const age = sample(samples, 'lavendly_job_oldest_due_age_seconds', { type: 'metrics_probe' })!;
    expect(age).toBeGreaterThanOrEqual(90);
    expect(age).toBeLessThan(150);
    expect(sample(samples, 'lavendly_credit_reservations_open', {})).toBe(2);
    expect(sample(samples, 'lavendly_credit_reservations_open_credits', {})).toBe(42);
  });

  it('shows ffmpeg, provider and job histograms after a scene is generated', async () => {
    const wf = await call(`${origin}/v1/workflows`, { key, body: { name: 'Measured', shots: [{ prompt: 'A lamp glows', duration_s: 1 }] } });
    expect(wf.status, wf.text).toBe(201);
    expect((await call(`${origin}/v1/workflows/${wf.json.id}/generate`, { key, body: {} })).status).toBe(202);
    const start = Date.now();
    let st: any;
    do {
      await new Promise((r) => setTimeout(r, 50));
      st = (await call(`${origin}/v1/workflows/${wf.json.id}/generation-status`, { key })).json;
      expect(Date.now() - start, JSON.stringify(st)).toBeLessThan(45_000);
    } while (st.status !== 'succeeded' && st.status !== 'failed');
    expect(st.status).toBe('succeeded');
    const samples = await scrape();
    expect(sample(samples, 'lavendly_ffmpeg_duration_seconds_count', { tool: 'ffmpeg', outcome: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(sample(samples, 'lavendly_ffmpeg_duration_seconds_sum', { tool: 'ffmpeg', outcome: 'ok' })).toBeGreaterThan(0);
    expect(sample(samples, 'lavendly_provider_duration_seconds_count', { operation: 'generate_image', provider: 'local', outcome: 'ok' })).toBe(1);
    expect(sample(samples, 'lavendly_provider_duration_seconds_count', { operation: 'generate_clip', provider: 'local', outcome: 'ok' })).toBe(1);
    expect(samples.some((s) => s.name === 'lavendly_job_duration_seconds_count' && s.labels.outcome === 'ok')).toBe(true);
  });

  it('counts webhook deliveries by outcome', async () => {
    // On a database of its own, which serve's worker does not drive: the two attempts are this test's.
    const hooks = await freshDb(kind);
    const receiver = await startReceiver((n) => (n === 1 ? 503 : 200));
    try {
      const account = await served.ctx.services.accounts.createAccount({ name: 'Hooked', credits: 0 });
      await hooks.db('accounts').insert({ id: account.account.id, name: 'Hooked', created_at: new Date().toISOString() });
      const options = { addressPolicy: { allowLoopback: true }, retryScheduleMs: [0], jitter: 0 };
      await createEndpoint(hooks.db, { accountId: account.account.id, url: receiver.url, events: ['*'] }, options);
      const { deliveryIds } = await hooks.db.transaction((trx) =>
        emitEvent(trx, { accountId: account.account.id, type: 'render.succeeded', payload: { render_id: 'rnd_1', workflow_id: 'wf_1' } }));
      const before = await scrape();
      expect((await deliver(hooks.db, deliveryIds[0]!, options)).status).toBe('pending');
      await new Promise((r) => setTimeout(r, 5));
      expect((await deliver(hooks.db, deliveryIds[0]!, options)).status).toBe('succeeded');
      const after = await scrape();
      const delta = (outcome: string) =>
        (sample(after, 'lavendly_webhook_deliveries_total', { outcome }) ?? 0) - (sample(before, 'lavendly_webhook_deliveries_total', { outcome }) ?? 0);
      expect(delta('retrying')).toBe(1);
      expect(delta('succeeded')).toBe(1);
      expect(receiver.requests).toHaveLength(2);
    } finally {
      await receiver.close();
      await hooks.close();
    }
  });
});

describe('metrics on a port of their own (LAVENDLY_METRICS_PORT)', () => {
  it('serves GET /metrics there, unauthenticated when no token is set, and nothing else', async () => {
    const fresh = await freshDb('sqlite');
    const telemetry = await startTelemetry(
      { host: '127.0.0.1', metrics: { enabled: true, token: null, port: 0 }, tracing: null },
      { db: fresh.db, logger: silent() },
    );
    try {
      expect(telemetry.endpoint).toBeNull(); // not on the API's port then
      const origin = `http://127.0.0.1:${telemetry.metricsPort}`;
      const res = await fetch(`${origin}/metrics`);
      expect(res.status).toBe(200);
      const samples = parsePrometheus(await res.text());
      expect(sample(samples, 'lavendly_credit_reservations_open', {})).toBe(0);
      const other = await call(`${origin}/v1/workflows`);
      expect(other.status).toBe(404);
      expect(other.json.error.code).toBe('not_found');
    } finally {
      await telemetry.shutdown();
      await fresh.close();
    }
  });
});
