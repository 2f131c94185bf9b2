// Revocation against money: a request that authenticated just before its key was revoked cannot
// reserve credits once the revocation has returned (lockLiveKey in the reserving transaction).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, lockLiveKey, revokeApiKey } from '../../src/accounts/accounts.js';
import { createDb, type Db } from '../../src/db/knex.js';
import { DomainError } from '../../src/errors.js';
import { grant, reserve } from '../../src/ledger/index.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

const granter = async (db: Db, id: string, credits: number, reason: string) => { await grant(db, id, credits, reason); };

describe.each(testDatabases())('lockLiveKey (%s)', (kind) => {
  let fresh: FreshDb;
  let other: Db;
  beforeAll(async () => {
    fresh = await freshDb(kind);
    other = createDb({ databaseUrl: fresh.databaseUrl, dataDir: fresh.dataDir, pgSchema: fresh.pgSchema });
  });
  afterAll(async () => {
    await other.destroy();
    await fresh.close();
  });

  it('passes a live key, refuses a revoked or unknown one with 401, skips a null one', async () => {
    const { apiKey } = await createAccount(fresh.db, { name: 'k' }, null);
    await fresh.db.transaction((trx) => lockLiveKey(trx, apiKey.id));
    await fresh.db.transaction((trx) => lockLiveKey(trx, null));
    await revokeApiKey(other, apiKey.id);
    await expect(fresh.db.transaction((trx) => lockLiveKey(trx, apiKey.id))).rejects.toMatchObject({ constructor: DomainError, code: 'unauthorized' });
    await expect(fresh.db.transaction((trx) => lockLiveKey(trx, 'key_nope'))).rejects.toMatchObject({ constructor: DomainError, code: 'unauthorized' });
  });

  it('a revocation racing a reservation returns only after the reservation committed, and later ones fail', async () => {
    const { account, apiKey } = await createAccount(fresh.db, { name: 'race', credits: 10 }, granter);
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let locked!: () => void;
    const holding = new Promise<void>((r) => { locked = r; });
    const reservation = fresh.db.transaction(async (trx) => {
      await lockLiveKey(trx, apiKey.id);
      locked();
      await gate;
      return reserve(trx, account.id, 3, { reason: 'in flight' });
    });
    await holding;
    let revokedAt = 0;
    const revocation = revokeApiKey(other, apiKey.id).then(() => { revokedAt = Date.now(); });
    if (kind === 'postgres') {
      // The revocation's UPDATE waits on the row lock: seen from the server, not from a sleep.
      for (;;) {
        const waiting = await fresh.db.raw(
          "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike 'update %api_keys%'");
        if (waiting.rows[0].n > 0) break;
        await new Promise((r) => setImmediate(r));
      }
    }
    // SQLite: the reserving transaction holds the write lock, so the revocation cannot have run.
    expect(revokedAt).toBe(0);
    release();
    expect((await reservation).amount).toBe(3);
    await revocation;
    await expect(fresh.db.transaction(async (trx) => {
      await lockLiveKey(trx, apiKey.id);
      return reserve(trx, account.id, 3, { reason: 'after revocation' });
    })).rejects.toMatchObject({ constructor: DomainError, code: 'unauthorized' });
    const held = await fresh.db('reservations').where({ account_id: account.id }).pluck('reason');
    expect(held).toEqual(['in flight']);
  });
});

describe('with the rate limit off, a revocation by another process is seen within the cache TTL', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { config: { rateLimitPerMinute: 0 } });
  });
  afterAll(async () => { await s.close(); });

  it('refused within one second (default 500 ms cache)', async () => {
    const a = await s.account();
    expect((await call(`${s.base}/ledger`, { key: a.key })).status).toBe(200);
    // Another process's revocation: straight to the database, this server's cache is not told.
    await revokeApiKey(s.fresh.db, a.keyId);
    const t0 = performance.now();
    for (;;) {
      const r = await call(`${s.base}/ledger`, { key: a.key });
      if (r.status === 401) break;
      expect(r.status).toBe(200);
    }
    const ms = performance.now() - t0;
    console.log(`rate limit off: revoked key refused ${ms.toFixed(0)} ms after the revocation`);
    expect(ms).toBeLessThan(1000);
  });
});
