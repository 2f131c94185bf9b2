/**
 * OpenTelemetry tracing, loaded only when an OTLP endpoint is configured (src/telemetry/index.ts
 * imports this module dynamically, so with tracing off no SDK code is ever loaded).
 *
 * Spans: one SERVER span per HTTP request (W3C `traceparent` of the caller honoured), one per
 * database query (knex's query events), one CLIENT span per outbound HTTP request (Node's
 * diagnostics channels for node:http and fetch, which covers imports, webhook posts and
 * publishing), one CONSUMER span per job run, linked to the span that enqueued the job.
 * Database and outbound spans are only made under a span: the worker's idle polling makes none.
 */
import dc from 'node:diagnostics_channel';
import type http from 'node:http';
import {
  context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace,
  type Context, type Link, type Span, type Tracer,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import type { Knex } from 'knex';
import type { TracingConfig } from '../config.js';
import type { ObservedJob } from './observe.js';

export interface Tracing {
  readonly tracer: Tracer;
  /** Runs `next` inside a SERVER span continuing the request's `traceparent`; `name` is read when it ends. */
  request(headers: http.IncomingHttpHeaders, method: string, next: () => Promise<void>, result: () => { name: string; status: number }): Promise<void>;
  runJob<T>(job: ObservedJob, run: () => Promise<T>): Promise<T>;
  traceparent(): string | null;
  /** Spans for this database handle's queries; answers the function that stops them. */
  traceDb(db: Knex, system: 'sqlite' | 'postgresql'): () => void;
  /** Exports every ended span now. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export function startTracing(config: TracingConfig, options: { exporter?: SpanExporter } = {}): Tracing {
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: config.tracesUrl, headers: config.headers });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // The global context manager (AsyncLocalStorage) and the W3C propagators.
  provider.register();
  const tracer = provider.getTracer('lavendly');
  const stopOutbound = traceOutboundHttp(tracer);

  return {
    tracer,
    async request(headers, method, next, result) {
      const parent = propagation.extract(ROOT_CONTEXT, headers);
      const span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } }, parent);
      try {
        await context.with(trace.setSpan(parent, span), next);
      } finally {
        const { name, status } = result();
        span.updateName(`${method} ${name}`);
        span.setAttribute('lavendly.operation', name);
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
    },
    runJob(job, run) {
      const links: Link[] = [];
      if (job.trace_context) {
        const enqueuedBy = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent: job.trace_context }));
        if (enqueuedBy) links.push({ context: enqueuedBy });
      }
      const attributes = { 'lavendly.job.id': job.id, 'lavendly.job.type': job.type, 'lavendly.job.attempt': job.attempts };
      return tracer.startActiveSpan(`job ${job.type}`, { kind: SpanKind.CONSUMER, root: true, links, attributes }, async (span) => {
        try {
          return await run();
        } catch (err) {
          failed(span, err);
          throw err;
        } finally {
          span.end();
        }
      });
    },
    traceparent() {
      const active = context.active();
      if (!trace.getSpan(active)) return null;
      const carrier: Record<string, string> = {};
      propagation.inject(active, carrier);
      return carrier.traceparent ?? null;
    },
    traceDb: (db, system) => traceQueries(tracer, db, system),
    flush: () => provider.forceFlush(),
    async shutdown() {
      stopOutbound();
      await provider.shutdown();
      // Unregister, so a later start in this process (tests) can register again.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

function failed(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/**
 * The active context when a child span belongs in it: under a span that is recorded (an unsampled
 * request's queries would make spans nobody keeps), tracing not suppressed (the exporter's own posts).
 */
function parentContext(): Context | null {
  const active = context.active();
  return trace.getSpan(active)?.isRecording() && !isTracingSuppressed(active) ? active : null;
}

/** Query spans open at once; past this the oldest is ended (a query whose end event never came must not leak). */
const MAX_OPEN_QUERIES = 1000;

interface QueryEvent { __knexQueryUid?: string; sql?: string; method?: string }

function traceQueries(tracer: Tracer, db: Knex, system: 'sqlite' | 'postgresql'): () => void {
  const open = new Map<string, Span>();
  const onQuery = (q: QueryEvent) => {
    const parent = q.__knexQueryUid ? parentContext() : null;
    if (!parent) return;
    if (open.size >= MAX_OPEN_QUERIES) {
      const [uid, stale] = open.entries().next().value as [string, Span];
      open.delete(uid);
      stale.end();
    }
    const operation = q.method ?? q.sql?.split(/\s/, 1)[0]?.toLowerCase() ?? 'query';
    // The statement text has placeholders, never the bound values.
    open.set(q.__knexQueryUid!, tracer.startSpan(`db ${operation}`, {
      kind: SpanKind.CLIENT, attributes: { 'db.system.name': system, 'db.operation.name': operation, 'db.query.text': q.sql?.slice(0, 2000) ?? '' },
    }, parent));
  };
  const onDone = (err: unknown, q: QueryEvent) => {
    const span = q.__knexQueryUid ? open.get(q.__knexQueryUid) : undefined;
    if (!span) return;
    open.delete(q.__knexQueryUid!);
    if (err) failed(span, err);
    span.end();
  };
  const onResponse = (_response: unknown, q: QueryEvent) => onDone(null, q);
  db.on('query', onQuery).on('query-response', onResponse).on('query-error', onDone);
  return () => {
    db.off('query', onQuery).off('query-response', onResponse).off('query-error', onDone);
    for (const span of open.values()) span.end();
    open.clear();
  };
}

/**
 * CLIENT spans for outbound HTTP from Node's diagnostics channels: node:http (safe downloads,
 * webhook posts) and undici (fetch: publishing). The URL is recorded without its query string.
 */
function traceOutboundHttp(tracer: Tracer): () => void {
  const spans = new WeakMap<object, Span>();
  const start = (request: object, method: string, url: string) => {
    const parent = parentContext();
    if (!parent) return;
    spans.set(request, tracer.startSpan(`${method}`, {
      kind: SpanKind.CLIENT, attributes: { 'http.request.method': method, 'url.full': url },
    }, parent));
  };
  const end = (request: object, status: number | null, err?: unknown) => {
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    if (status !== null) span.setAttribute('http.response.status_code', status);
    if (err) failed(span, err);
    else if (status !== null && status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  const handlers: [string, (message: unknown) => void][] = [
    ['http.client.request.start', (m) => {
      const req = (m as { request: http.ClientRequest }).request;
      const host = req.getHeader('host') ?? req.host; // the Host header carries a non-default port
      start(req, req.method, `${req.protocol}//${String(host)}${req.path.split('?')[0]}`);
    }],
    ['http.client.response.finish', (m) => {
      const { request, response } = m as { request: http.ClientRequest; response: http.IncomingMessage };
      end(request, response.statusCode ?? null);
    }],
    ['http.client.request.error', (m) => {
      const { request, error } = m as { request: http.ClientRequest; error: unknown };
      end(request, null, error);
    }],
    ['undici:request:create', (m) => {
      const req = (m as { request: { method: string; origin: string; path: string } }).request;
      start(req, req.method, `${req.origin}${req.path.split('?')[0]}`);
    }],
    ['undici:request:headers', (m) => {
      const { request, response } = m as { request: object; response: { statusCode: number } };
      end(request, response.statusCode);
    }],
    ['undici:request:error', (m) => {
      const { request, error } = m as { request: object; error: unknown };
      end(request, null, error);
    }],
  ];
  for (const [name, handler] of handlers) dc.subscribe(name, handler);
  return () => { for (const [name, handler] of handlers) dc.unsubscribe(name, handler); };
}
