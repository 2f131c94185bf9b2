/**
 * The embedded SQLite driver: knex's better-sqlite3 client, adapted in two ways.
 *
 * 1. Prepared statements are kept per connection and reused. Knex builds the same SQL text for the
 *    same query shape, and better-sqlite3's `prepare` was about half of a simple request's CPU.
 * 2. Lock waits do not block the event loop: the busy timeout is one short slice, and a statement
 *    that still finds the database locked is retried after an asynchronous backoff (the policy
 *    every SQLite path shares, src/db/sqlite-busy.ts). Only statements outside a transaction are
 *    retried (autocommit statements and `BEGIN IMMEDIATE` itself): inside a transaction opened
 *    with BEGIN IMMEDIATE this connection already holds the write lock.
 */
import { createRequire } from 'node:module';
import { afterBusy, BUSY_SLICE_MS } from './sqlite-busy.js';

/** Statements kept prepared per connection (distinct SQL texts; the hot paths use a few dozen). */
const STATEMENT_CACHE = 500;

export interface Statement {
  reader: boolean;
  raw(on: boolean): Statement;
  all(bindings: unknown[]): unknown[];
  run(bindings: unknown[]): { lastInsertRowid: number | bigint; changes: number };
}

export interface Connection {
  prepare(sql: string): Statement;
  pragma(sql: string): unknown;
  inTransaction: boolean;
}

interface QueryObject {
  sql: string;
  bindings?: unknown[];
  response?: unknown;
  context?: unknown;
}

interface BaseClient {
  _formatBindings(bindings: unknown[] | undefined): unknown[];
}

// Knex ships its dialects without type declarations.
const BetterSqlite3Client = createRequire(import.meta.url)('knex/lib/dialects/better-sqlite3') as new (config: unknown) => BaseClient;

const caches = new WeakMap<Connection, Map<string, Statement>>();

/**
 * The connection's prepared statement for `sql`. `arrays`: one whose rows come as arrays of
 * column values (better-sqlite3's raw mode, cached apart), which skips building an object per row.
 */
export function prepared(connection: Connection, sql: string, arrays = false): Statement {
  let cache = caches.get(connection);
  if (!cache) caches.set(connection, (cache = new Map()));
  const key = arrays ? `${sql}\u0000arrays` : sql;
  let statement = cache.get(key);
  if (statement) {
    // Refresh its place, so the least recently used statement is the one dropped.
    cache.delete(key);
  } else {
    statement = connection.prepare(sql);
    if (arrays) statement.raw(true);
    if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, statement);
  return statement;
}

/** The connection settings every new connection gets. */
export function configureConnection(conn: Connection): void {
  conn.pragma('journal_mode = WAL');
  conn.pragma(`busy_timeout = ${BUSY_SLICE_MS}`);
  conn.pragma('foreign_keys = ON');
  conn.pragma('synchronous = NORMAL');
  // A group commit (src/db/sqlite-group.ts) runs each unit in a savepoint, so SQLite copies the
  // pages each unit changes into a statement journal; past 64 KiB (two creates' worth) that
  // journal moves to a new temporary file in /var/tmp, created, written and unlinked on every
  // group, on whatever disk that is. Kept in memory, a group of 16 creates costs 0.82x the CPU in
  // the store alone, a group of 64 0.69x (`npx tsx bench/create-groups.ts`). Temporary
  // tables and the b-trees of a sort without an index live in memory too, as large as the rows
  // such a query reads.
  conn.pragma('temp_store = MEMORY');
}

/**
 * Knex's better-sqlite3 client with the cached, lock-friendly query runner described above. A
 * subclass, not a patched instance: knex builds each transaction's client from the prototype.
 */
export class SqliteClient extends BetterSqlite3Client {
  async _query(connection: Connection, obj: QueryObject): Promise<QueryObject> {
    if (!obj.sql) throw new Error('The query is empty');
    if (!connection) throw new Error('No connection provided');
    const statement = prepared(connection, obj.sql);
    const bindings = this._formatBindings(obj.bindings);
    try {
      return answer(statement, bindings, obj);
    } catch (err) {
      return afterBusy(err, () => answer(statement, bindings, obj), connection);
    }
  }
}

function answer(statement: Statement, bindings: unknown[], obj: QueryObject): QueryObject {
  if (statement.reader) {
    obj.response = statement.all(bindings);
  } else {
    const r = statement.run(bindings);
    obj.response = r;
    obj.context = { lastID: r.lastInsertRowid, changes: r.changes };
  }
  return obj;
}
