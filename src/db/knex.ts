import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { prepareDataDir } from '../data-dir.js';
import { databaseHealth } from './health.js';
import { applyMigrations, type MigrationOutcome } from './migration-log.js';
import { configureConnection, SqliteClient } from './sqlite.js';
import { clusterDate } from './cluster-time.js';

export type Db = Knex;

/** The embedded database's file name inside LAVENDLY_DATA_DIR. */
export const SQLITE_FILE = 'lavendly.sqlite';
export type DbKind = 'sqlite' | 'postgres';

export interface DbOptions {
  /** `postgres://...`; null means the embedded SQLite file. */
  databaseUrl: string | null;
  /** Where the SQLite file lives (ignored for PostgreSQL). */
  dataDir: string;
  /** LAVENDLY_DATA_DIR was not set (Config.dataDirIsDefault). */
  dataDirIsDefault?: boolean;
  /** Optional SQLite file name override (tests use one file per test). */
  sqliteFile?: string;
  /** PostgreSQL schema to use (tests isolate themselves in a schema each). */
  pgSchema?: string;
}

export function dbKind(db: Db): DbKind {
  return db.client.config.client === 'pg' ? 'postgres' : 'sqlite';
}

export function createDb(options: DbOptions): Db {
  if (options.databaseUrl) {
    const searchPath = options.pgSchema ? [options.pgSchema] : undefined;
    const db: Db = knexFactory({
      client: 'pg',
      connection: pgConnection(options.databaseUrl),
      searchPath,
      pool: { min: 0, max: 10 },
      // knex prints a stack trace per failed connection attempt; the health tracker turns them
      // into one line per change of state (src/db/health.ts).
      log: { warn: (message: string) => databaseHealth(db).knexWarning(message) },
    });
    return db;
  }
  const filename = path.join(options.dataDir, options.sqliteFile ?? SQLITE_FILE);
  prepareDataDir(options.dataDir, filename, options.dataDirIsDefault);
  const db: Db = knexFactory({
    client: SqliteClient as unknown as typeof Knex.Client,
    connection: { filename },
    useNullAsDefault: true,
    // As for PostgreSQL: no stack trace on the console per failed open; the error reaches the caller.
    log: { warn: (message: string) => databaseHealth(db).knexWarning(message) },
    // One connection: SQLite serialises writers anyway, and a single connection makes every
    // knex transaction exclusive within the process, so no update can be lost between a read
    // and a write. Other processes are held off by WAL and the lock retries of src/db/sqlite-busy.ts.
    pool: {
      min: 1,
      max: 1,
      afterCreate(conn: Parameters<typeof configureConnection>[0], done: (err: Error | null, c: unknown) => void) {
        try {
          configureConnection(conn);
          done(null, conn);
        } catch (err) {
          done(err as Error, conn);
        }
      },
    },
  });
  beginImmediately(db);
  return db;
}

/**
 * How long opening a PostgreSQL connection may take, handshake and authentication included. pg
 * waits forever by default: a server (or a proxy in front of it) that accepts the connection and
 * never answers held a starting process for most of a minute, until knex gave up with "Timeout
 * acquiring a connection. The pool is probably full", which points the operator the wrong way.
 */
export const PG_CONNECT_TIMEOUT_MS = 10_000;

/** The URL as pg's settings, with the connect timeout unless the URL sets its own (`connect_timeout`). */
function pgConnection(url: string): Knex.PgConnectionConfig {
  let own = false;
  try {
    own = new URL(url).searchParams.has('connect_timeout');
  } catch {
    // config.ts refuses a DATABASE_URL that is not a URL; a test's may be anything pg reads
  }
  return own ? { connectionString: url } : { connectionString: url, connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS };
}

/**
 * Knex opens SQLite transactions with a deferred `BEGIN`, which takes the write lock only at the
 * first write; a transaction that read first then fails with SQLITE_BUSY when another process
 * wrote in between, and the busy timeout cannot help. `BEGIN IMMEDIATE` takes the write lock up
 * front, so transactions from several processes queue on the lock retries (src/db/sqlite-busy.ts)
 * instead of failing.
 */
function beginImmediately(db: Knex): void {
  type Trx = { begin(conn: unknown): unknown; query(conn: unknown, sql: string): unknown };
  const client = db.client as { transaction: (...args: unknown[]) => Trx };
  const open = client.transaction.bind(client);
  client.transaction = (...args: unknown[]) => {
    const trx = open(...args);
    trx.begin = (conn: unknown) => trx.query(conn, 'BEGIN IMMEDIATE;');
    return trx;
  };
}

/**
 * Applies every migration listed in migrations/index.ts (idempotent). The list is imported
 * statically rather than read from the folder, so migrations run the same under tsx, vitest and
 * a bundler, none of which share one way of loading .ts files by path. Where each applied
 * migration is recorded, and what a database migrated by a newer release means here, is in
 * src/db/migration-log.ts.
 *
 * Several processes may start at once on an empty database (compose.yaml starts two APIs and
 * three workers together). Knex's own migration lock lives in a table it first creates with
 * check-then-create, so every process but one used to fail with `relation "knex_migrations"
 * already exists`. So the whole run is one transaction that starts by taking a lock the others
 * wait for: on PostgreSQL an advisory lock per schema (DDL is transactional there), on SQLite
 * the write lock BEGIN IMMEDIATE takes (beginImmediately above). The next process then finds
 * everything applied and only checks. So every migration runs inside that transaction: one that
 * cannot (PostgreSQL's CREATE INDEX CONCURRENTLY) needs another way in.
 */
export async function migrate(db: Db): Promise<MigrationOutcome> {
  return db.transaction(async (trx) => {
    if (dbKind(db) === 'postgres') {
      await trx.raw("select pg_advisory_xact_lock(hashtext('lavendly.migrate:' || current_schema()))");
    }
    return applyMigrations(trx);
  });
}

/** Current time (the cluster's clock, src/db/cluster-time.ts) as an ISO string; one helper so every table stores time the same way. */
export function nowIso(): string {
  return clusterDate().toISOString();
}
