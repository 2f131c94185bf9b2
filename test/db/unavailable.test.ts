/**
 * Which database failures count as the database being unavailable (a 503 with Retry-After at the
 * edge) and which are the query's own (a 500, or a domain error): each from a real driver.
 */
import net from 'node:net';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createDb } from '../../src/db/knex.js';
import { DatabaseUnavailableError, isDatabaseUnavailable, outageReason } from '../../src/db/unavailable.js';
import { freshDb, testDatabases } from '../helpers/db.js';
import { tempDir } from '../net/servers.js';

/** What `run` rejects with. */
async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

/** A port that refuses connections: one we held and let go. */
async function refusedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('database outages', () => {
  it('a PostgreSQL that refuses connections is unavailable, and the reason leaves the SQL out', async () => {
    const db = createDb({ databaseUrl: `postgres://nobody@127.0.0.1:${await refusedPort()}/x`, dataDir: tempDir() });
    try {
      const err = await failure(() => db('accounts').where({ email: 'ann@example.org' }).first());
      expect(isDatabaseUnavailable(err)).toBe(true);
      expect(outageReason(err)).not.toContain('ann@example.org');
    } finally {
      await db.destroy();
    }
  });

  it('a PostgreSQL that accepts and hangs up is unavailable', async () => {
    const server = net.createServer((socket) => socket.destroy()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const db = createDb({ databaseUrl: `postgres://nobody@127.0.0.1:${(server.address() as net.AddressInfo).port}/x`, dataDir: tempDir() });
    try {
      expect(isDatabaseUnavailable(await failure(() => db.raw('select 1')))).toBe(true);
    } finally {
      await db.destroy();
      server.close();
    }
  });

  it('SQLite still locked by another process after the busy deadline is unavailable', () => {
    const dir = tempDir();
    const holder = new Database(`${dir}/x.db`);
    holder.exec('create table t (a int)');
    holder.exec('begin immediate');
    const other = new Database(`${dir}/x.db`, { timeout: 1 });
    try {
      const err = (() => {
        try {
          other.exec('insert into t values (1)');
        } catch (e) {
          return e;
        }
        throw new Error('expected SQLITE_BUSY');
      })();
      expect(isDatabaseUnavailable(err)).toBe(true);
    } finally {
      other.close();
      holder.close();
    }
  });

  it.each(testDatabases())('a query at fault on %s is not', async (kind) => {
    const fresh = await freshDb(kind);
    try {
      expect(isDatabaseUnavailable(await failure(() => fresh.db.raw('select * from no_such_table')))).toBe(false);
      await fresh.db('accounts').insert({ id: 'acc_1', name: 'a', created_at: new Date().toISOString() });
      const duplicate = await failure(() => fresh.db('accounts').insert({ id: 'acc_1', name: 'b', created_at: new Date().toISOString() }));
      expect(isDatabaseUnavailable(duplicate)).toBe(false);
      expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
      expect(isDatabaseUnavailable(new DatabaseUnavailableError(new Error('x')))).toBe(true);
    } finally {
      await fresh.close();
    }
  });
});
