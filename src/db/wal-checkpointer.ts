/**
 * WAL checkpoints off the request path, for a long-running process on SQLite (`serve`).
 *
 * By default SQLite checkpoints inside the commit that takes the WAL past 1000 pages: that commit
 * copies ~4 MB into the database file and fsyncs both files before it returns, and as
 * better-sqlite3 is synchronous, the event loop and every request in flight wait with it. A create
 * writes ~9 pages, so every ~110th create paid it: create_workflow's in-server p99 was ~2 ms on
 * tmpfs and ~8 ms on disk, against ~0.8 ms with no checkpoints (bench/http.ts, README).
 *
 * Here a worker thread with its own connection copies the WAL into the database (PASSIVE
 * checkpoints, which take no write lock, so requests go on writing) every `intervalMs`. Copying
 * alone never lets the WAL start over while commits keep landing, so when a pass reports
 * `restartPages` or more in the WAL, the request connection checkpoints the few frames written
 * during the pass, and its next commit starts the WAL over. The thread runs a pass only when asked,
 * after that, so the two never checkpoint at once: SQLite would skip the restart if they did.
 * The request connection keeps SQLite's own automatic checkpoint at `boundPages` as a backstop
 * for passes that stall (a slow disk). test/db/wal-checkpointer.test.ts checks that every pass
 * past `restartPages` restarts the WAL, on a real file.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './knex.js';

export interface CheckpointerOptions {
  /** Time between the end of one pass and the start of the next (ms). */
  intervalMs?: number;
  /** WAL length (pages) from which a pass is finished on the request connection and the WAL restarts. */
  restartPages?: number;
  /** The request connection's own automatic checkpoint (pages): the backstop. */
  boundPages?: number;
}

export const CHECKPOINT_INTERVAL_MS = 100;
export const WAL_RESTART_PAGES = 1000;
export const WAL_BOUND_PAGES = 10_000;
/** SQLite's default, put back on the request connection when the thread stops. */
const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;

export interface CheckpointStats {
  /** Passes run by the thread; restarts finished on the request connection. */
  passes: number;
  restarts: number;
}

export interface Checkpointer {
  stats(): CheckpointStats;
  stop(): Promise<void>;
}

/** The thread, as CommonJS run with `eval` (the same under tsx, vitest and the build); the driver's path comes resolved. */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { fileMustExist: true });
parentPort.postMessage({ ready: true });
parentPort.on('message', (m) => {
  if (m === 'pass') {
    let result = null;
    try { result = db.pragma('wal_checkpoint(PASSIVE)')[0]; } catch {}
    parentPort.postMessage({ pass: result });
  } else if (m === 'stop') {
    db.close();
    parentPort.close();
  }
});
`;

type Pass = { busy: number; log: number; checkpointed: number } | null;

/**
 * Starts the checkpoint thread for `db`; null on PostgreSQL or an in-memory database. Stop it
 * before destroying `db`.
 */
export async function startWalCheckpointer(db: Db, options: CheckpointerOptions = {}): Promise<Checkpointer | null> {
  if (db.client.config.client === 'pg') return null;
  const filename = (db.client.config.connection as { filename?: string } | undefined)?.filename;
  if (!filename || filename === ':memory:') return null;
  const intervalMs = options.intervalMs ?? CHECKPOINT_INTERVAL_MS;
  const restartPages = options.restartPages ?? WAL_RESTART_PAGES;
  const boundPages = options.boundPages ?? WAL_BOUND_PAGES;
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(THREAD, { eval: true, workerData: { driver, filename } });
  worker.unref();
  let failure: Error | null = null;
  worker.on('error', (err) => { failure = err; });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  await Promise.race([new Promise((resolve) => worker.once('message', resolve)), exited]);
  if (failure) throw failure;

  // The pool holds one connection (src/db/knex.ts): this is the request connection's setting.
  await db.raw(`PRAGMA wal_autocheckpoint = ${boundPages}`);
  const stats: CheckpointStats = { passes: 0, restarts: 0 };
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const next = () => {
    if (stopped) return;
    timer = setTimeout(() => worker.postMessage('pass'), intervalMs);
    timer.unref();
  };
  worker.on('message', async (m: { pass?: Pass }) => {
    if (!('pass' in m)) return;
    stats.passes++;
    const pass = m.pass ?? null;
    if (pass && pass.log >= restartPages && !stopped) {
      // Queued on the pool like any query: it runs between two requests' statements.
      try {
        await db.raw('PRAGMA wal_checkpoint(PASSIVE)');
        stats.restarts++;
      } catch {
        // Closed meanwhile, or another process checkpointing: the next pass tries again.
      }
    }
    next();
  });
  next();
  return {
    stats: () => ({ ...stats }),
    async stop() {
      if (stopped) return exited;
      stopped = true;
      if (timer) clearTimeout(timer);
      worker.postMessage('stop');
      await exited;
      await db.raw(`PRAGMA wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`).catch(() => {});
    },
  };
}
