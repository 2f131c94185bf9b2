/**
 * The job worker: `lavendly worker` runs it alone (scale out: several processes on PostgreSQL, or
 * beside a `serve` on the same SQLite file), and `lavendly serve` runs one beside the API.
 *
 * The job handlers come from the composition root (src/app/compose.ts). Tuning comes from
 * `config.worker` (LAVENDLY_WORKER_*, LAVENDLY_SERVE_WORKER; src/jobs/worker-settings.ts).
 *
 * A worker that opens its own SQLite database (`lavendly worker`) checkpoints the WAL in a thread,
 * as `serve` does (src/db/wal-checkpointer.ts): otherwise the worker commit that takes the WAL past
 * 1000 pages copies it into the database inside the commit, and the worker's event loop (its
 * heartbeats, its jobs' I/O) waits for that. Beside a `serve` on the same file there are then two
 * such threads: SQLite runs one checkpoint at a time, and a PASSIVE pass that meets another one
 * answers "busy" at once without waiting or copying, so neither blocks the other and the WAL still
 * starts over at the restart mark (test/db/wal-checkpointer.test.ts, two handles on one file).
 * serve's own worker shares serve's thread.
 */
import type { Logger } from 'pino';
import { composeWorker, type JobComposition } from '../../app/compose.js';
import { loadConfig, type Config } from '../../config.js';
import type { Db } from '../../db/knex.js';
import { startWalCheckpointer, type Checkpointer } from '../../db/wal-checkpointer.js';
import { createLogger } from '../../http/logging.js';
import { runWorker, type RunningWorker } from '../../jobs/worker-main.js';
import { startSweeper } from '../../publish/index.js';
import { checkStore } from '../../storage/preflight.js';
import { startTelemetry, type Telemetry } from '../../telemetry/index.js';
import { failureLog } from '../../util/failure-log.js';
import { parseFlags, UsageError, type Command } from '../command.js';
import { untilSignal } from '../signals.js';
import { webhookJobTypes } from '../../webhooks/index.js';
import type { ServeSidecar } from './serve.js';

export interface StartJobWorkerOptions {
  config: Config;
  logger: Logger;
  /** Share this handle (serve); otherwise the worker opens and migrates its own. */
  db?: Db;
  /** The services and job handlers to run (serve's, or a test's); default: `composeWorker(config)`. */
  composed?: JobComposition;
  concurrency?: number;
  /** Runs once the database is open, before the first job is claimed. */
  beforeStart?: (db: Db) => Promise<void>;
}

export async function startJobWorker(o: StartJobWorkerOptions): Promise<RunningWorker> {
  const tuning = o.config.worker;
  const { services, jobHandlers } = o.composed ?? (await composeWorker({ config: o.config, logger: o.logger }));
  // Serve's worker shares serve's store, checked as serve started.
  if (!o.composed) await checkStore(services.storage, o.logger);
  const { storage, webhookOptions: webhooks, publish } = services;
  const checkpoints: { thread: Checkpointer | null } = { thread: null };
  const running = await runWorker({
    config: o.config,
    db: o.db,
    handlers: jobHandlers,
    concurrency: o.concurrency ?? tuning.concurrency,
    // Deliveries wait on customers' receivers: on their own slots, never a generation's or render's.
    lanes: [{ name: 'webhooks', types: webhookJobTypes, concurrency: tuning.webhookConcurrency }],
    leaseMs: tuning.leaseMs,
    pollMs: tuning.pollMs,
    logger: o.logger,
    beforeStart: async (db) => {
      if (!o.db) checkpoints.thread = await startWalCheckpointer(db); // null on PostgreSQL
      await o.beforeStart?.(db);
    },
  }).catch(async (err) => {
    await checkpoints.thread?.stop();
    throw err;
  });
  // Safety net beside the queue: due publications and webhook deliveries whose job was lost.
  const sweepLog = failureLog(o.logger, 'publication/webhook sweep');
  const sweeper = startSweeper(running.db, { publish, webhooks, onError: sweepLog.failed, onSuccess: sweepLog.succeeded });
  // Temporary files of renders and transfers whose process was killed, and scratch copies of a
  // job that died (S3 driver): swept now and every `fileSweepMs` (10 min), one sweep at a time.
  const partialsLog = failureLog(o.logger, 'temporary file sweep');
  let sweeping: Promise<void> | null = null;
  const sweepPartials = () => sweeping ??= Promise.all([storage.sweepPartials(tuning.partialAgeMs), storage.sweepStaging()])
    .then(([partial, staged]) => partial + staged)
    .then((n) => {
      partialsLog.succeeded();
      if (n) o.logger.info({ files: n }, 'removed unfinished temporary files');
    }, partialsLog.failed)
    .finally(() => { sweeping = null; });
  void sweepPartials();
  const partials = setInterval(sweepPartials, tuning.fileSweepMs);
  partials.unref();
  void running.done.then(() => { clearInterval(partials); return sweeper.stop(); });
  let stopping: Promise<void> | null = null;
  return {
    ...running,
    // Once: serve calls it when shutdown starts and again among its sidecars' stops.
    stop: (opts) => stopping ??= (async () => {
      clearInterval(partials);
      await sweeper.stop();
      // The jobs in flight first (their commits still checkpoint off the event loop), then the
      // thread, which must stop before `running.stop` closes the database it works on.
      await running.stopJobs(opts);
      await checkpoints.thread?.stop();
      await running.stop(opts);
    })(),
  };
}

/** `serve`'s worker: shares the API's database handle, storage and generation configuration. */
export const jobWorkerSidecar: ServeSidecar = async (ctx) => {
  if (!ctx.config.worker.besideServe) return { stop: async () => {} };
  const running = await startJobWorker({ config: ctx.config, logger: ctx.logger, db: ctx.db, composed: ctx });
  ctx.logger.info({ worker: running.worker.workerId }, 'job worker started beside the API');
  return {
    drain: (deadlineMs) => running.stop({ abortAfterMs: deadlineMs }),
    stop: () => running.stop({ abortAfterMs: ctx.config.shutdownGraceMs }),
  };
};

export const workerCommand: Command = {
  name: 'worker',
  summary: 'Run a job worker without the API (env LAVENDLY_DATA_DIR or DATABASE_URL, LAVENDLY_WORKER_*).',
  usage: 'lavendly worker [--concurrency N]',
  async run(args, io) {
    const values = parseFlags(args, { concurrency: { type: 'string' } });
    const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
    if (concurrency !== undefined && (!/^\d+$/.test(values.concurrency!) || concurrency < 1 || !Number.isSafeInteger(concurrency))) {
      throw new UsageError(`--concurrency must be a whole number >= 1 (got '${values.concurrency}')`);
    }
    const config = loadConfig(io.env);
    const logger = createLogger({ level: config.logLevel, format: config.logFormat });
    // Metrics only with a port to scrape them on (a worker has no API port); tracing as configured.
    // Started on the worker's database before its first claim, so every job run is observed.
    let telemetry: Telemetry | null = null;
    const metrics = { ...config.metrics, enabled: config.metrics.enabled && config.metrics.port !== null };
    const running = await startJobWorker({
      config, logger, concurrency,
      beforeStart: async (db) => { telemetry = await startTelemetry({ ...config, metrics }, { db, logger }); },
    }).catch(async (err) => {
      await (telemetry as Telemetry | null)?.shutdown(); // its listener would hold the process open
      throw err;
    });
    logger.info({ worker: running.worker.workerId, database: config.databaseUrl ? 'postgres' : 'sqlite' },
      `Lavendly worker ${running.worker.workerId} running (${config.databaseUrl ? 'PostgreSQL' : `SQLite in ${config.dataDir}`})`);
    const signal = await Promise.race([untilSignal(), running.done.then(() => null)]);
    if (signal) {
      logger.info({ signal }, 'shutting down: no new jobs; jobs in flight finish or go back to the queue');
      await running.stop({ abortAfterMs: config.shutdownGraceMs });
    }
    await (telemetry as Telemetry | null)?.shutdown();
    logger.info({ worker: running.worker.workerId }, 'worker stopped');
    return 0;
  },
};
