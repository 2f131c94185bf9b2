import type { Config } from '../config.js';
import { checkClock, followDbClock } from '../db/clock.js';
import { createDb, migrate, type Db } from '../db/knex.js';
import { runningBesideNewer, type MigrationOutcome } from '../db/migration-log.js';
import { expireReservations } from '../ledger/ledger.js';
import type { FailureHook } from './queue.js';
import { databaseHealth } from '../db/health.js';
import { failureLog } from '../util/failure-log.js';
import { Worker, type HandlerEntry, type WorkerLogger } from './worker.js';

/**
 * Job types that run on slots of their own, so that they never take the main slots and the main
 * jobs never wait behind them (webhook deliveries wait on customers' receivers, up to their
 * timeout each, while generations and renders should start at once).
 */
export interface WorkerLane {
  name: string;
  types: string[];
  concurrency: number;
}

export interface RunWorkerOptions {
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'dataDirIsDefault'>;
  handlers: Record<string, HandlerEntry>;
  onJobFailed?: FailureHook;
  /** Slots of the main lane: every job type no `lanes` entry names. */
  concurrency?: number;
  lanes?: WorkerLane[];
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
  /** The main lane's worker. */
  worker: Worker;
  /** Every lane's worker, the main one first. */
  lanes: Worker[];
  db: Db;
  /** Stops every lane (as `Worker.stop`) without closing the database. */
  stopJobs(options?: { abortAfterMs?: number }): Promise<void>;
  /** Stops claiming, waits for (or after the grace period aborts) jobs in flight, closes the
   *  database handle if the worker opened it. */
  stop(options?: { abortAfterMs?: number }): Promise<void>;
  /** Settles when the worker has stopped. */
  done: Promise<void>;
}

async function migrateWithRetry(db: Db): Promise<MigrationOutcome> {
  // migrate() serialises processes starting together (src/db/knex.ts); a lock still held by a
  // migration run outside it (knex's CLI, an older release) is waited for here.
  for (let i = 0; ; i++) {
    try {
      return await migrate(db);
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
  const db = options.db ?? createDb({ databaseUrl: options.config.databaseUrl, dataDir: options.config.dataDir, dataDirIsDefault: options.config.dataDirIsDefault });
  let unfollowClock = () => {};
  try {
    if (options.migrate ?? ownDb) {
      const ahead = runningBesideNewer(await migrateWithRetry(db));
      if (ahead) options.logger?.warn({}, ahead);
    }
    if (ownDb) {
      await checkClock(db);
      unfollowClock = await followDbClock(db);
    }
  } catch (err) {
    if (ownDb) await db.destroy().catch(() => {});
    throw err;
  }
  await options.beforeStart?.(db);
  const log = options.logger;
  // One line when the database goes away and one when it is back (src/db/health.ts).
  const health = databaseHealth(db);
  if (ownDb && log) health.start(log);
  // One Worker per lane: each claims only its own types, with its own slots.
  const laneOf = new Map((options.lanes ?? []).flatMap((lane) => lane.types.map((t) => [t, lane] as const)));
  const handlersOf = (lane: WorkerLane | undefined) =>
    Object.fromEntries(Object.entries(options.handlers).filter(([type]) => laneOf.get(type) === lane));
  const common = { db, onJobFailed: options.onJobFailed, leaseMs: options.leaseMs, pollMs: options.pollMs, backoff: options.backoff, logger: log };
  const worker = new Worker({ ...common, handlers: handlersOf(undefined), concurrency: options.concurrency, workerId: options.workerId });
  const lanes = [worker, ...(options.lanes ?? []).map((lane) => new Worker({
    ...common, handlers: handlersOf(lane), concurrency: lane.concurrency, workerId: `${worker.workerId}/${lane.name}`,
    failureLogs: worker.failureLogs,
  }))];
  for (const w of lanes) w.start();
  const stopJobs = async (o: { abortAfterMs?: number } = {}) => { await Promise.all(lanes.map((w) => w.stop(o))); };

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
        await stopJobs(o);
        await sweeping;
        if (ownDb) {
          health.stop();
          unfollowClock();
          await db.destroy();
        }
      } finally {
        resolveDone();
      }
    })();
    return stopping;
  }
  return { worker, lanes, db, stopJobs, stop, done };
}
