import type { Config } from '../config.js';
import { createDb, migrate, type Db } from '../db/knex.js';
import { expireReservations } from '../ledger/ledger.js';
import type { FailureHook } from './queue.js';
import { databaseHealth } from '../db/health.js';
import { failureLog } from '../util/failure-log.js';
import { Worker, type HandlerEntry, type WorkerLogger } from './worker.js';

export interface RunWorkerOptions {
  config: Pick<Config, 'databaseUrl' | 'dataDir'>;
  handlers: Record<string, HandlerEntry>;
  onJobFailed?: FailureHook;
  concurrency?: number;
  leaseMs?: number;
  pollMs?: number;
  workerId?: string;
  backoff?: { baseMs?: number; maxMs?: number };
  logger?: WorkerLogger;
  /** Use this database handle instead of opening one (`serve` shares the API's). */
  db?: Db;
  /** Apply migrations before starting (default true when the worker opens its own handle). */
  migrate?: boolean;
  /** How often to release expired credit reservations (default 30 s; null = never). Every
   *  worker may do it: each release is guarded, so concurrent sweeps cannot double-release. */
  sweepReservationsMs?: number | null;
  /** Runs once the database is open and migrated, before the first claim (the CLI starts telemetry here). */
  beforeStart?: (db: Db) => Promise<void>;
}

export interface RunningWorker {
  worker: Worker;
  db: Db;
  /** Stops claiming, waits for (or after the grace period aborts) jobs in flight, closes the
   *  database handle if the worker opened it. */
  stop(options?: { abortAfterMs?: number }): Promise<void>;
  /** Settles when the worker has stopped. */
  done: Promise<void>;
}

async function migrateWithRetry(db: Db): Promise<void> {
  // Several workers starting at once contend for knex's migration lock; wait for the winner.
  for (let i = 0; ; i++) {
    try {
      await migrate(db);
      return;
    } catch (err) {
      const locked = err instanceof Error && /lock/i.test(err.message);
      if (!locked || i >= 50) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * The worker process: opens the database from the config, runs a Worker over the given handlers,
 * and sweeps expired credit reservations. Used by `lavendly worker` (worker only, several may
 * run against PostgreSQL) and `lavendly serve` (beside the API, sharing its handle).
 */
export async function runWorker(options: RunWorkerOptions): Promise<RunningWorker> {
  const ownDb = !options.db;
  const db = options.db ?? createDb({ databaseUrl: options.config.databaseUrl, dataDir: options.config.dataDir });
  if (options.migrate ?? ownDb) await migrateWithRetry(db);
  await options.beforeStart?.(db);
  const log = options.logger;
  // One line when the database goes away and one when it is back (src/db/health.ts).
  const health = databaseHealth(db);
  if (ownDb && log) health.start(log);
  const worker = new Worker({
    db,
    handlers: options.handlers,
    onJobFailed: options.onJobFailed,
    concurrency: options.concurrency,
    leaseMs: options.leaseMs,
    pollMs: options.pollMs,
    workerId: options.workerId,
    backoff: options.backoff,
    logger: log,
  });
  worker.start();

  const sweepMs = options.sweepReservationsMs === undefined ? 30_000 : options.sweepReservationsMs;
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweepLog = failureLog(log, 'releasing expired credit reservations');
  const sweep = sweepMs === null ? undefined : setInterval(() => {
    sweeping = expireReservations(db)
      .then((n) => {
        sweepLog.succeeded();
        if (n > 0) log?.info({ expired: n }, 'released expired credit reservations');
      })
      .catch((err) => sweepLog.failed(err));
  }, sweepMs);
  sweep?.unref();

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => { resolveDone = r; });
  let stopping: Promise<void> | null = null;
  function stop(o: { abortAfterMs?: number } = {}): Promise<void> {
    stopping ??= (async () => {
      if (sweep) clearInterval(sweep);
      try {
        await worker.stop(o);
        await sweeping;
        if (ownDb) {
          health.stop();
          await db.destroy();
        }
      } finally {
        resolveDone();
      }
    })();
    return stopping;
  }
  return { worker, db, stop, done };
}
