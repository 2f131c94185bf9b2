// Every time one process writes for another to compare with (leases, expiries, next attempts,
// sessions, rate-limit refills, signed links) comes from clusterNow(). A machine's clock can step
// at any moment after the start-up check; on PostgreSQL clusterNow() then stays on the database
// server's clock, on SQLite it is the machine's clock, which every process there shares.
import { afterEach, describe, expect, it } from 'vitest';
import { followDbClock } from '../../src/db/clock.js';
import { clusterNow } from '../../src/db/cluster-time.js';
import { nowIso } from '../../src/db/knex.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { restoreWallClock, stepWallClock } from '../helpers/wall-clock.js';


describe.each(testDatabases())('the cluster clock on %s', (kind) => {
  let fresh: FreshDb;
  let unfollow = () => {};
  afterEach(async () => {
    restoreWallClock();
    unfollow();
    await fresh?.close();
  });

  it.each([60_000, -60_000])('a wall clock stepped by %i ms moves it only on SQLite', async (stepMs) => {
    fresh = await freshDb(kind);
    unfollow = await followDbClock(fresh.db);
    stepWallClock(stepMs);
    const local = clusterNow();
    // Whole milliseconds, as Date.now() gives: integer columns (expires_ms) refuse a fraction.
    expect(Number.isInteger(local)).toBe(true);
    const iso = Date.parse(nowIso());
    if (kind === 'postgres') {
      const r = await fresh.db.raw('select extract(epoch from clock_timestamp()) * 1000 as ms');
      const dbMs = Number(r.rows[0].ms);
      expect(Math.abs(local - dbMs)).toBeLessThan(1_000);
      expect(Math.abs(iso - dbMs)).toBeLessThan(1_000);
    } else {
      expect(Math.abs(local - Date.now())).toBeLessThan(1_000);
      expect(Math.abs(iso - Date.now())).toBeLessThan(1_000);
    }
  });

  it('falls back to the wall clock once nothing follows the database', async () => {
    fresh = await freshDb(kind);
    (await followDbClock(fresh.db))();
    stepWallClock(60_000);
    expect(Math.abs(clusterNow() - Date.now())).toBeLessThan(1_000);
  });
});
