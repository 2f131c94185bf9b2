/**
 * Tracing on a live API + job worker, spans captured by an in-memory exporter: a request continues
 * the caller's W3C traceparent, its database queries are its children, the job it enqueued runs in
 * a span of its own linked back to it (with the job's queries as children), and outbound HTTP
 * (node:http and fetch) under a span gets a CLIENT span. Then the real OTLP exporter posts to a
 * fake collector on loopback.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/cli/commands/worker.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createApp, startServer, type RunningServer } from '../../src/http/app.js';
import { createLogger } from '../../src/http/logging.js';
import { compose } from '../../src/app/compose.js';
import type { RunningWorker } from '../../src/jobs/worker-main.js';
import { startTelemetry, type Telemetry } from '../../src/telemetry/index.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { call } from '../helpers/server.js';
import { startReceiver } from '../webhooks/receiver.js';
import { createEndpoint, deliver, emitEvent } from '../../src/webhooks/index.js';
import { withWorkerEnv } from '../helpers/config.js';

const silent = () => createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe.each(testDatabases())('tracing on %s', (kind) => {
  const exporter = new InMemorySpanExporter();
  let fresh: FreshDb;
  let telemetry: Telemetry;
  let running: RunningServer;
  let worker: RunningWorker;
  let key: string;

  beforeAll(async () => {
    fresh = await freshDb(kind);
    const logger = silent();
    const config: Config = {
      ...loadConfig({ LAVENDLY_CLIP_SHORT_SIDE: '180' }), dataDir: fresh.dataDir, databaseUrl: fresh.databaseUrl, signingSecret: 'test-signing-secret',
      metrics: { enabled: false, token: null, port: null },
      tracing: { tracesUrl: 'http://127.0.0.1:9/v1/traces', headers: {}, serviceName: 'lavendly-test', sampleRatio: 1 },
    };
    telemetry = await startTelemetry(config, { db: fresh.db, logger, spanExporter: exporter });
    const composed = await compose({ config, db: fresh.db, logger });
    const { services } = composed;
    const app = await createApp({ config, db: fresh.db, services, handlers: composed.handlers, logger, telemetry });
    running = await startServer({ app, db: fresh.db, logger, port: 0, closeDb: false });
    worker = await startJobWorker({ config: withWorkerEnv(config, { LAVENDLY_WORKER_POLL_MS: '50' }), logger, db: fresh.db, composed });
    key = (await services.accounts.createAccount({ name: 'Traced', credits: 1000 })).apiKey.key;
  });
  afterAll(async () => {
    await worker?.stop();
    await running?.close(1_000);
    await telemetry?.shutdown();
    await fresh?.close();
  });

  const spans = async (): Promise<ReadableSpan[]> => {
    await telemetry.tracing!.flush();
    return exporter.getFinishedSpans();
  };
  const childrenOf = (all: ReadableSpan[], parent: ReadableSpan) =>
    all.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId && s.spanContext().traceId === parent.spanContext().traceId);

  it('continues the caller trace, with the queries as children, and links the job run to the request', async () => {
    const traceparent = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`;
    const wf = await call(`${running.origin}/v1/workflows`, { key, headers: { traceparent }, body: { name: 'Traced', shots: [{ prompt: 'A kite rises', duration_s: 1 }] } });
    expect(wf.status, wf.text).toBe(201);
    const gen = await call(`${running.origin}/v1/workflows/${wf.json.id}/generate`, { key, body: {} });
    expect(gen.status, gen.text).toBe(202);
    let all: ReadableSpan[] = [];
    const start = Date.now();
    while (!all.some((s) => s.name === 'job generation.scene' && s.ended)) {
      expect(Date.now() - start, all.map((s) => s.name).join(', ')).toBeLessThan(30_000);
      await new Promise((r) => setTimeout(r, 100));
      all = await spans();
    }

    const create = all.find((s) => s.name === 'POST create_workflow')!;
    expect(create, all.map((s) => s.name).join(', ')).toBeDefined();
    expect(create.kind).toBe(1); // SERVER
    expect(create.spanContext().traceId).toBe(CALLER_TRACE);
    expect(create.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(create.attributes['http.response.status_code']).toBe(201);
    const queries = childrenOf(all, create).filter((s) => s.name.startsWith('db '));
    expect(queries.length).toBeGreaterThan(0);
    expect(queries.some((q) => String(q.attributes['db.query.text']).includes('workflows'))).toBe(true);
    expect(queries.every((q) => q.attributes['db.system.name'] === (kind === 'postgres' ? 'postgresql' : 'sqlite'))).toBe(true);

    // No caller trace: the generate request starts one; the job it enqueued links back to it.
    const generate = all.find((s) => s.name === 'POST generate_scene')!;
    expect(generate, all.map((s) => s.name).join(', ')).toBeDefined();
    expect(generate.parentSpanContext).toBeUndefined();
    const job = all.find((s) => s.name === 'job generation.scene')!;
    expect(job.kind).toBe(4); // CONSUMER
    expect(job.parentSpanContext).toBeUndefined();
    expect(job.links.map((l) => l.context.spanId)).toEqual([generate.spanContext().spanId]);
    expect(job.attributes['lavendly.job.type']).toBe('generation.scene');
    expect(childrenOf(all, job).filter((s) => s.name.startsWith('db ')).length).toBeGreaterThan(0);

    // The worker's idle polling happens outside any span and makes no root query spans.
    expect(all.filter((s) => s.name.startsWith('db ') && !s.parentSpanContext)).toEqual([]);
  });

  it('makes CLIENT spans for outbound HTTP under a span (webhook post, fetch)', async () => {
    // The job worker would claim the delivery job emitEvent enqueues and race this test's own
    // deliver() call (which then answers 'skipped'); its part of the trace was checked above.
    await worker.stop();
    const receiver = await startReceiver(() => 204);
    try {
      const account = (await call(`${running.origin}/v1/ledger`, { key })).status; // a request outside the span below
      expect(account).toBe(200);
      const accountId = (await fresh.db('accounts').first('id')).id as string;
      const options = { addressPolicy: { allowLoopback: true } };
      await createEndpoint(fresh.db, { accountId, url: receiver.url, events: ['*'] }, options);
      const { deliveryIds } = await fresh.db.transaction((trx) =>
        emitEvent(trx, { accountId, type: 'render.succeeded', payload: { render_id: 'rnd_1', workflow_id: 'wf_1' } }));
      exporter.reset();
      await telemetry.tracing!.tracer.startActiveSpan('outer', async (outer) => {
        expect((await deliver(fresh.db, deliveryIds[0]!, options)).status).toBe('succeeded');
        expect((await fetch(`${receiver.url}?secret=1`)).status).toBe(204);
        outer.end();
      });
      const all = await spans();
      const outer = all.find((s) => s.name === 'outer')!;
      const clients = childrenOf(all, outer).filter((s) => s.kind === 2 /* CLIENT */ && !s.name.startsWith('db '));
      expect(clients.map((s) => [s.name, s.attributes['url.full'], s.attributes['http.response.status_code']])).toEqual([
        ['POST', receiver.url, 204],
        ['GET', receiver.url, 204],
      ]);
    } finally {
      await receiver.close();
    }
  });
});

describe('OTLP export', () => {
  it('posts spans to the configured collector as OTLP/HTTP JSON', async () => {
    const received: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
    const collector = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => { body += c; });
      req.on('end', () => {
        received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const fresh = await freshDb('sqlite');
    const config = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-key=k1',
      OTEL_SERVICE_NAME: 'lavendly-otlp-test',
      LAVENDLY_METRICS: 'off',
    });
    const telemetry = await startTelemetry(config, { db: fresh.db, logger: silent() });
    try {
      await telemetry.tracing!.tracer.startActiveSpan('probe', async (span) => {
        await fresh.db('jobs').count({ n: '*' });
        span.end();
      });
      await telemetry.tracing!.flush();
      expect(received).toHaveLength(1);
      const [post] = received;
      expect(post!.method).toBe('POST');
      expect(post!.url).toBe('/v1/traces');
      expect(post!.headers['content-type']).toBe('application/json');
      expect(post!.headers['x-collector-key']).toBe('k1');
      const body = JSON.parse(post!.body);
      const resource = body.resourceSpans[0].resource.attributes;
      expect(resource).toContainEqual({ key: 'service.name', value: { stringValue: 'lavendly-otlp-test' } });
      const names = body.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans.map((x: any) => x.name)));
      // The probe and its query; the exporter's own POST makes no span.
      expect(names.sort()).toEqual(['db select', 'probe']);
    } finally {
      await telemetry.shutdown();
      await fresh.close();
      await new Promise<void>((r) => collector.close(() => r()));
    }
  });
});

describe('sampling', () => {
  it('records nothing for an unsampled trace, and follows a sampled caller', async () => {
    const exporter = new InMemorySpanExporter();
    const fresh = await freshDb('sqlite');
    const tracing = { tracesUrl: 'http://127.0.0.1:9/v1/traces', headers: {}, serviceName: 'sampling', sampleRatio: 0 };
    const telemetry = await startTelemetry({ host: '127.0.0.1', metrics: { enabled: false, token: null, port: null }, tracing }, { db: fresh.db, logger: silent(), spanExporter: exporter });
    try {
      const tracer = telemetry.tracing!.tracer;
      await tracer.startActiveSpan('unsampled', async (span) => {
        await fresh.db('jobs').count({ n: '*' });
        span.end();
      });
      await telemetry.tracing!.flush();
      expect(exporter.getFinishedSpans()).toEqual([]);
      const caller = trace.setSpanContext(ROOT_CONTEXT, { traceId: CALLER_TRACE, spanId: CALLER_SPAN, traceFlags: TraceFlags.SAMPLED, isRemote: true });
      await tracer.startActiveSpan('sampled by the caller', {}, caller, async (span) => {
        await fresh.db('jobs').count({ n: '*' });
        span.end();
      });
      await telemetry.tracing!.flush();
      expect(exporter.getFinishedSpans().map((s) => [s.name, s.spanContext().traceId])).toEqual([
        ['db select', CALLER_TRACE], ['sampled by the caller', CALLER_TRACE],
      ]);
    } finally {
      await telemetry.shutdown();
      await fresh.close();
    }
  });
});
