import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { dbKind } from '../db/knex.js';
import { dataVersion } from '../db/sqlite-sync.js';
import { outermost } from '../db/after-commit.js';

/**
 * Tells idle workers that a job was enqueued, so they claim it at once instead of at their next
 * poll. Two channels, both only ever hints (a worker still polls, so a lost hint costs latency,
 * never a job):
 *  - in-process: workers of this process on the same database (`serve`'s own worker) are called
 *    back right after the enqueueing statement, or its transaction, commits;
 *  - PostgreSQL: `pg_notify` in the enqueueing transaction, delivered on commit to the workers of
 *    other processes, which LISTEN on a connection of their own (see `listenForJobs`).
 *  - SQLite: no signal crosses processes, but a commit by another connection writes the `-wal`
 *    file and changes the connection's `PRAGMA data_version`; an idle worker watches the file and
 *    reads the version when it changes (a few microseconds), and looks for due jobs only when the
 *    version moved (see `watchForCommits`).
 */

type Db = Knex | Knex.Transaction;

/** One channel for every schema; the payload names the schema, so tests in schemas of one
 *  database (and several deployments in one database) do not wake each other. */
export const JOBS_CHANNEL = 'lavendly_jobs';

const local = new Map<string, Set<() => void>>();

/** The database a handle talks to: same key for a knex instance and its transactions, and for
 *  two knex instances opened on the same file or schema. */
function databaseKey(db: Db): string {
  const config = db.client.config as { client: unknown; connection: unknown; searchPath?: unknown };
  return JSON.stringify([config.client, config.connection, config.searchPath ?? null]);
}

/** Calls `fn` whenever a job is enqueued on this database by this process; returns the unsubscribe. */
export function onLocalEnqueue(db: Db, fn: () => void): () => void {
  const key = databaseKey(db);
  let set = local.get(key);
  if (!set) local.set(key, (set = new Set()));
  set.add(fn);
  return () => {
    set.delete(fn);
    if (set.size === 0 && local.get(key) === set) local.delete(key);
  };
}

/**
 * Called by `enqueue` right after its INSERT. Sends the PostgreSQL notification in the same
 * transaction (so it is delivered only if the job commits) and schedules the in-process callbacks
 * for when the job is visible: now, or when the outermost transaction ends.
 */
export async function announceEnqueued(db: Db): Promise<void> {
  if (dbKind(db as Knex) === 'postgres') await db.raw('select pg_notify(?, current_schema())', [JOBS_CHANNEL]);
  const set = local.get(databaseKey(db));
  if (!set || set.size === 0) return;
  const fire = () => { for (const fn of [...set]) fn(); };
  if (db.isTransaction) {
    // Rolled back: a spurious wake costs one empty claim, so no need to tell the two apart.
    void outermost(db as Knex.Transaction).executionPromise.then(fire, fire);
  } else {
    fire();
  }
}

interface RawPgConnection {
  query(sql: string): Promise<{ rows: Array<Record<string, unknown>> }>;
  on(event: 'notification', fn: (msg: { channel: string; payload?: string }) => void): void;
  on(event: 'error' | 'end', fn: (err?: unknown) => void): void;
}

export interface JobListener {
  close(): Promise<void>;
}

/**
 * On PostgreSQL, keeps a connection of its own (outside knex's pool, which it would otherwise
 * hold forever) LISTENing for enqueued jobs of this handle's schema and calls `fn` for each.
 * Reconnects with backoff if the connection drops; the caller's poll covers the gap. Elsewhere a
 * no-op.
 */
export function listenForJobs(db: Knex, fn: () => void, onError: (err: unknown) => void, onListening?: () => void): JobListener {
  if (dbKind(db) !== 'postgres') return { close: async () => {} };
  const client = db.client as {
    acquireRawConnection(): Promise<RawPgConnection>;
    destroyRawConnection(c: RawPgConnection): Promise<void>;
  };
  let schema: unknown;
  let closed = false;
  let conn: RawPgConnection | null = null;
  let retry: NodeJS.Timeout | undefined;
  let delayMs = 100;

  const connect = async (): Promise<void> => {
    let c: RawPgConnection | null = null;
    try {
      c = await client.acquireRawConnection();
      const mine = c;
      mine.on('notification', (msg) => { if (msg.channel === JOBS_CHANNEL && msg.payload === schema) fn(); });
      mine.on('error', (err) => dropped(mine, err));
      mine.on('end', () => dropped(mine, new Error('LISTEN connection ended')));
      // The schema as the server resolves it (knex's searchPath, or `options` in the URL), the same
      // expression the enqueuer's pg_notify sends.
      schema = (await mine.query('select current_schema() as s')).rows[0]?.s;
      await mine.query(`LISTEN ${JOBS_CHANNEL}`);
      if (closed) { await client.destroyRawConnection(mine).catch(() => {}); return; }
      conn = mine;
      delayMs = 100;
      onListening?.();
      fn(); // jobs enqueued while we were not listening
    } catch (err) {
      if (c) await client.destroyRawConnection(c).catch(() => {});
      if (!closed) { onError(err); again(); }
    }
  };
  const dropped = (c: RawPgConnection, err: unknown) => {
    if (conn !== c || closed) return;
    conn = null;
    onError(err);
    void client.destroyRawConnection(c).catch(() => {});
    again();
  };
  const again = () => {
    retry = setTimeout(() => { void connect(); }, delayMs);
    retry.unref();
    delayMs = Math.min(delayMs * 2, 10_000);
  };
  const ready = connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await ready;
      const c = conn;
      conn = null;
      if (c) await client.destroyRawConnection(c).catch(() => {});
    },
  };
}

/** How often an idle SQLite worker reads PRAGMA data_version when it cannot watch the file. */
export const DATA_VERSION_CHECK_MS = 20;
/** How often it reads it anyway while it watches the file (a notification is a hint, not a promise). */
export const WATCHED_CHECK_MS = 250;
/** After a notification, the version is read again this long after the previous read (ms). */
const FOLLOW_UP_MS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/**
 * On SQLite, calls `fn` when another connection (another process: the API, the CLI, a second
 * worker) has committed to the database since the last check. Every kind of commit counts, so
 * `fn` should look before it writes (the worker probes for a due job with a read before it
 * claims). Elsewhere a no-op.
 *
 * A commit in WAL mode appends to the `-wal` file, so the database's directory is watched
 * (inotify on Linux: no CPU while nothing happens) and PRAGMA data_version is read when that file
 * changes; this connection's own commits change the file too, but not its data_version. The
 * directory rather than the file: the `-wal` file is removed when the last connection closes and
 * made again by the next. The version is also read every `WATCHED_CHECK_MS` in case a notification
 * is lost, and every `everyMs` (default 20 ms) where the directory cannot be watched.
 */
export function watchForCommits(db: Knex, fn: () => void, options: { everyMs?: number; watchedEveryMs?: number } = {}): JobListener {
  if (dbKind(db) !== 'sqlite') return { close: async () => {} };
  let last: number | null = null;
  let closed = false;
  /** Reads the version and calls `fn` if it moved; true if it did. After a notification with
   *  nothing to compare against yet, `fn` is called anyway (it only looks). */
  const check = (notification = false): boolean => {
    if (closed) return false;
    let seen: number | null;
    try {
      seen = dataVersion(db);
    } catch {
      return false; // the pool is closing or reconnecting; the worker's poll covers it
    }
    if (seen === null) return false; // this process holds the connection: a later look will do
    const moved = last !== null ? seen !== last : notification;
    last = seen;
    if (moved) fn();
    return moved;
  };
  // The -wal file changes when a commit's pages are written, a moment before the commit becomes
  // visible (the wal-index in shared memory, which no notification reports), and this process may
  // hold the connection when the notification comes. So after a notification the version is read
  // at once and then again at growing intervals until it moves, for about a second.
  let step = -1;
  let followUp: NodeJS.Timeout | undefined;
  const next = (): void => {
    followUp = undefined;
    if (step < 0 || check(true) || ++step >= FOLLOW_UP_MS.length) { step = -1; return; }
    followUp = setTimeout(next, FOLLOW_UP_MS[step]);
    followUp.unref();
  };
  const notified = (): void => {
    if (check(true)) { step = -1; return; }
    // A notification while following up starts the sequence over, timer included: the pending
    // one may be half a second away (this worker's own commits notify too, and start a sequence
    // that no version change ends), and this commit should be seen within milliseconds.
    step = 0;
    clearTimeout(followUp);
    followUp = setTimeout(next, FOLLOW_UP_MS[0]);
    followUp.unref();
  };
  const watcher = watchWal(db, () => notified());
  const timer = setInterval(() => check(), watcher ? (options.watchedEveryMs ?? WATCHED_CHECK_MS) : (options.everyMs ?? DATA_VERSION_CHECK_MS));
  timer.unref();
  check();
  return {
    close: async () => {
      closed = true;
      clearInterval(timer);
      clearTimeout(followUp);
      watcher?.close();
    },
  };
}

/** Calls `fn` whenever the SQLite file's `-wal` (or the file itself) changes; null when the
 *  directory cannot be watched (no file name, no inotify watches left, ...). */
function watchWal(db: Knex, fn: () => void): fs.FSWatcher | null {
  const filename = (db.client.config as { connection?: { filename?: unknown } }).connection?.filename;
  if (typeof filename !== 'string' || filename === ':memory:') return null;
  const base = path.basename(filename);
  const names = new Set([base, `${base}-wal`]);
  try {
    const watcher = fs.watch(path.dirname(filename), { persistent: false }, (_event, name) => {
      if (name === null || names.has(String(name))) fn();
    });
    // Say the directory goes away: the timed check carries on alone.
    watcher.on('error', () => watcher.close());
    return watcher;
  } catch {
    return null;
  }
}
