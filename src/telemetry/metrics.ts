import type { Logger } from 'pino';
import client from 'prom-client';
import type { Db } from '../db/knex.js';
import type { ProviderOperation, RunOutcome, WebhookOutcome } from './observe.js';
import { clusterNow } from '../db/cluster-time.js';

/**
 * The process's Prometheus metrics (prom-client), in a registry of its own. Label values are
 * bounded by construction: operation ids (never raw paths), job types, provider names, outcomes.
 * No account id, key or URL is ever a label. Queue depth and open reservations are not counted
 * as they change: they are read from the database at scrape time, so they are right whichever
 * process (API or worker) changed them.
 */
export class Metrics {
  readonly registry = new client.Registry();
  private readonly httpDuration: client.Histogram<'operation' | 'method' | 'status'>;
  private readonly ffmpegDuration: client.Histogram<'tool' | 'outcome'>;
  private readonly providerDuration: client.Histogram<'operation' | 'provider' | 'outcome'>;
  private readonly jobDuration: client.Histogram<'type' | 'outcome'>;
  private readonly webhookDeliveries: client.Counter<'outcome'>;

  constructor(db: Db, logger: Logger) {
    const registers = [this.registry];
    client.collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new client.Histogram({
      name: 'lavendly_http_request_duration_seconds',
      help: 'HTTP requests by operation id and status: latency until the handler answered (the _count is the request count).',
      labelNames: ['operation', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const slow = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
    this.ffmpegDuration = new client.Histogram({
      name: 'lavendly_ffmpeg_duration_seconds', help: 'ffmpeg and ffprobe runs by outcome.',
      labelNames: ['tool', 'outcome'], buckets: slow, registers,
    });
    this.providerDuration = new client.Histogram({
      name: 'lavendly_provider_duration_seconds', help: 'Media provider calls by operation, provider and outcome.',
      labelNames: ['operation', 'provider', 'outcome'], buckets: slow, registers,
    });
    this.jobDuration = new client.Histogram({
      name: 'lavendly_job_duration_seconds', help: 'Job runs (one per attempt) by job type and outcome.',
      labelNames: ['type', 'outcome'], buckets: slow, registers,
    });
    this.webhookDeliveries = new client.Counter({
      name: 'lavendly_webhook_deliveries_total', help: 'Webhook delivery attempts by outcome (succeeded, retrying, failed).',
      labelNames: ['outcome'], registers,
    });
    registerDatabaseGauges(this.registry, db, logger);
  }

  observeRequest(operation: string, method: string, status: number, seconds: number): void {
    this.httpDuration.observe({ operation, method, status }, seconds);
  }

  observeFfmpeg(tool: string, seconds: number, outcome: RunOutcome): void {
    this.ffmpegDuration.observe({ tool, outcome }, seconds);
  }

  observeProvider(operation: ProviderOperation, provider: string, seconds: number, outcome: RunOutcome): void {
    this.providerDuration.observe({ operation, provider, outcome }, seconds);
  }

  observeJob(type: string, seconds: number, outcome: 'ok' | 'error'): void {
    this.jobDuration.observe({ type, outcome }, seconds);
  }

  countWebhookDelivery(outcome: WebhookOutcome): void {
    this.webhookDeliveries.inc({ outcome });
  }
}

interface DatabaseSnapshot {
  jobs: { type: string; status: string; n: number; oldestDue: string | null }[];
  reservations: { n: number; credits: number };
}

/**
 * Gauges read at scrape time with two indexed queries (jobs by status, reservations by status).
 * Every gauge of one scrape shares one snapshot: prom-client collects the metrics of a scrape
 * concurrently. A failed read leaves the gauges empty for that scrape and counts an error, so a
 * scrape never fails because the database is away.
 */
function registerDatabaseGauges(registry: client.Registry, db: Db, logger: Logger): void {
  const registers = [registry];
  let pending: Promise<DatabaseSnapshot | null> | null = null;
  const snapshot = (): Promise<DatabaseSnapshot | null> => {
    pending ??= readSnapshot(db)
      .catch((err) => {
        readErrors.inc();
        logger.warn({ err }, 'metrics: reading the database failed');
        return null;
      })
      .finally(() => setImmediate(() => { pending = null; }));
    return pending;
  };
  const readErrors = new client.Counter({
    name: 'lavendly_metrics_database_errors_total', help: 'Scrapes whose database gauges could not be read.', registers,
  });
  new client.Gauge({
    name: 'lavendly_jobs', help: 'Jobs waiting (queued, due or not) and running, by job type.',
    labelNames: ['type', 'state'], registers,
    async collect() {
      this.reset();
      for (const j of (await snapshot())?.jobs ?? []) this.set({ type: j.type, state: j.status }, j.n);
    },
  });
  new client.Gauge({
    name: 'lavendly_job_oldest_due_age_seconds', help: 'How long the oldest due queued job of each type has waited.',
    labelNames: ['type'], registers,
    async collect() {
      this.reset();
      const now = clusterNow();
      for (const j of (await snapshot())?.jobs ?? []) {
        if (j.status === 'queued' && j.oldestDue) this.set({ type: j.type }, Math.max(0, (now - Date.parse(j.oldestDue)) / 1000));
      }
    },
  });
  new client.Gauge({
    name: 'lavendly_credit_reservations_open', help: 'Open credit reservations.', registers,
    async collect() {
      const s = await snapshot();
      if (s) this.set(s.reservations.n);
    },
  });
  new client.Gauge({
    name: 'lavendly_credit_reservations_open_credits', help: 'Credits held by open reservations.', registers,
    async collect() {
      const s = await snapshot();
      if (s) this.set(s.reservations.credits);
    },
  });
}

async function readSnapshot(db: Db): Promise<DatabaseSnapshot> {
  const now = new Date().toISOString();
  // One query per state, each on that state's partial index (migration 018), not the whole table.
  const byType = (status: 'queued' | 'running') => db('jobs')
    .where({ status })
    .groupBy('type')
    .select('type', db.raw(`'${status}' as status`), db.raw('count(*) as n'),
      db.raw(status === 'queued' ? 'min(case when run_at <= ? then run_at end) as oldest_due' : 'null as oldest_due', status === 'queued' ? [now] : []));
  const jobs = (await Promise.all([byType('queued'), byType('running')])).flat() as
    { type: string; status: string; n: unknown; oldest_due: string | null }[];
  const [open] = (await db('reservations').where({ status: 'open' })
    .select(db.raw('count(*) as n'), db.raw('coalesce(sum(amount), 0) as credits'))) as { n: unknown; credits: unknown }[];
  return {
    jobs: jobs.map((j) => ({ type: j.type, status: j.status, n: Number(j.n), oldestDue: j.oldest_due })),
    reservations: { n: Number(open?.n ?? 0), credits: Number(open?.credits ?? 0) },
  };
}
