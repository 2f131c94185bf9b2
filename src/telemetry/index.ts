/**
 * Metrics and traces for one process (`serve`, `worker`): Prometheus metrics (prom-client) when
 * `config.metrics.enabled`, OpenTelemetry tracing over OTLP/HTTP when `config.tracing` is set.
 * `startTelemetry` builds what is on, installs the observer the libraries report to
 * (src/telemetry/observe.ts) and answers the Koa pieces the app mounts.
 */
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import type { Config } from '../config.js';
import { dbKind, type Db } from '../db/knex.js';
import { metricsEndpoint, telemetryLayer } from './http.js';
import { listenForScrapes, type MetricsListener } from './listener.js';
import { Metrics } from './metrics.js';
import { installObserver, type Observer } from './observe.js';
import type { Tracing } from './tracing.js';

export interface Telemetry {
  metrics: Metrics | null;
  tracing: Tracing | null;
  /** The app's outermost layer; null when both are off (no cost per request then). */
  layer: Koa.Middleware | null;
  /** `GET /metrics` for the API's port; null when metrics are off or served on their own port. */
  endpoint: Koa.Middleware | null;
  /** The port of the metrics listener (LAVENDLY_METRICS_PORT), when there is one. */
  metricsPort: number | null;
  /** Flushes spans, stops the database hooks and removes the observer. */
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  db: Db;
  logger: Logger;
  /** Where spans go instead of the OTLP exporter (tests: an in-memory exporter). */
  spanExporter?: SpanExporter;
}

export async function startTelemetry(config: Pick<Config, 'metrics' | 'tracing' | 'host'>, options: TelemetryOptions): Promise<Telemetry> {
  const metrics = config.metrics.enabled ? new Metrics(options.db, options.logger) : null;
  const endpoint = metrics ? metricsEndpoint(metrics, config.metrics.token) : null;
  let listener: MetricsListener | null = null;
  if (endpoint && config.metrics.port !== null) {
    listener = await listenForScrapes(endpoint, { host: config.host, port: config.metrics.port, logger: options.logger });
  }
  let tracing: Tracing | null = null;
  let untraceDb = () => {};
  if (config.tracing) {
    // Loaded here only: with tracing off, no OpenTelemetry SDK code is imported.
    const { startTracing } = await import('./tracing.js');
    tracing = startTracing(config.tracing, { exporter: options.spanExporter });
    untraceDb = tracing.traceDb(options.db, dbKind(options.db) === 'postgres' ? 'postgresql' : 'sqlite');
    options.logger.info({ endpoint: config.tracing.tracesUrl, sample_ratio: config.tracing.sampleRatio }, 'tracing: exporting spans over OTLP');
  }
  const previous = metrics || tracing ? installObserver(observer(metrics, tracing)) : null;
  return {
    metrics,
    tracing,
    layer: telemetryLayer(metrics, tracing),
    endpoint: listener ? null : endpoint,
    metricsPort: listener?.port ?? null,
    async shutdown() {
      await listener?.close();
      if (metrics || tracing) installObserver(previous);
      untraceDb();
      await tracing?.shutdown().catch((err) => options.logger.warn({ err }, 'tracing: flushing spans at shutdown failed'));
    },
  };
}

function observer(metrics: Metrics | null, tracing: Tracing | null): Observer {
  return {
    ffmpeg: (tool, seconds, outcome) => metrics?.observeFfmpeg(tool, seconds, outcome),
    provider: (operation, provider, seconds, outcome) => metrics?.observeProvider(operation, provider, seconds, outcome),
    webhookDelivery: (outcome) => metrics?.countWebhookDelivery(outcome),
    async runJob(job, run) {
      const started = performance.now();
      let outcome: 'ok' | 'error' = 'error';
      try {
        const result = await (tracing ? tracing.runJob(job, run) : run());
        outcome = 'ok';
        return result;
      } finally {
        metrics?.observeJob(job.type, (performance.now() - started) / 1000, outcome);
      }
    },
    traceparent: () => tracing?.traceparent() ?? null,
  };
}
