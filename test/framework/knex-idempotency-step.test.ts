// The framework's Knex idempotency store, with a claim still running when a retry's process sees
// it a minute expired: that process's clock stepped a minute ahead (the store reads each process's
// own clock), or the clock they share stepped. The retry took the live claim over and ran the
// request a second time. It is now taken over only once the retry's process has seen it expired
// and unrenewed for half a lease; a dead process's claim still is, and a claim whose write
// recorded its effect (nothing left to write) at once.
import { afterEach, describe, expect, it } from 'vitest';
import { createIdempotencyTable, KnexIdempotencyStore } from '@lavendly/framework/knex';
import { freshDb, testDatabases } from '../helpers/db.js';
import { restoreWallClock, stepWallClock } from '../helpers/wall-clock.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(testDatabases())('KnexIdempotencyStore under a clock step on %s', (kind) => {
  afterEach(() => { restoreWallClock(); });

  it('a live claim is not taken over, a dead one is, half a lease after it is seen expired', async () => {
    const fresh = await freshDb(kind);
    try {
      await createIdempotencyTable(fresh.db, 'fw_keys');
      const store = new KnexIdempotencyStore(fresh.db, { table: 'fw_keys', leaseS: 0.4 });
      const live = await store.claim('acc', 'op', 'k', 'h');
      if (live.kind !== 'claimed') throw new Error(`claimed expected, got ${live.kind}`);
      stepWallClock(60_000);
      // The holder renews every third of the lease (as the framework's layer does); a retry
      // comes every 50 ms, for three leases.
      for (let i = 0; i < 24; i++) {
        expect((await store.claim('acc', 'op', 'k', 'h')).kind).toBe('in_progress');
        if (i % 2 === 1) expect(await store.renew(live.rowId, live.token)).toBe(true);
        await sleep(50);
      }
      // Its past-window sweep leaves the running claim alone too.
      stepWallClock(2 * 86_400_000);
      expect(await store.sweep()).toBe(0);
      expect((await store.claim('acc', 'op', 'k', 'h')).kind).toBe('in_progress');
      expect(await store.renew(live.rowId, live.token)).toBe(true);
      // The holder dies: the retries take the claim over once it has stayed expired a while.
      let taken = await store.claim('acc', 'op', 'k', 'h');
      for (let i = 0; i < 100 && taken.kind === 'in_progress'; i++) {
        await sleep(50);
        taken = await store.claim('acc', 'op', 'k', 'h');
      }
      expect(taken.kind).toBe('claimed');
      expect(await store.complete(live.rowId, live.token, 201, {}, 'late')).toBe(false);
    } finally {
      await fresh.close();
    }
  });
});
