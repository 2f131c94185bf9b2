// A clock every API process shares (the machine's on SQLite, the database server's on PostgreSQL)
// steps forward past a keyed request's claim (30 s, renewed every 10 s) while the request runs.
// The next retry of the same key found the claim expired, took it over and ran the request a
// second time beside the first; past the replay window (5 min), the retry even deleted the
// running claim as an old use of the key, and so did the server's sweep of expired keys. A claim that looks expired is now taken over only once the
// process has seen it expired and unchanged for half a lease (the holder renews within a third);
// a crashed process's claim is still taken over.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqlIdempotencyStore } from '../../src/http/idempotency-store.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { restoreWallClock, stepWallClock } from '../helpers/wall-clock.js';
import { counters, gates, mountFixtures, resetCounters } from './fixture-ops.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(testDatabases())('a keyed request while the shared clock steps forward, on %s', (kind) => {
  let s: TestServer;
  let alice: { id: string; key: string };

  beforeAll(async () => {
    s = await startTestServer(kind, { mount: mountFixtures, config: { idempotencyLeaseS: 1 } });
    alice = await s.account({ name: 'Alice' });
  });
  afterEach(() => { restoreWallClock(); });
  afterAll(async () => { await s.close(); });

  it.each([
    { step: 'a minute', stepMs: 60_000 },
    { step: 'ten minutes, past the 5 min replay window', stepMs: 600_000 },
  ])('runs once when it steps $step: retries meanwhile are told it is in progress', async ({ stepMs }) => {
    resetCounters();
    let release!: () => void;
    gates.held = new Promise<void>((r) => { release = r; });
    const post = () => call(`${s.base}/things`, { key: alice.key, body: { name: 'held' }, headers: { 'idempotency-key': `step-${stepMs}` } });
    const first = post();
    while (counters.create === 0) await sleep(10);
    stepWallClock(stepMs); // the claim looks expired (and past its window, ten minutes on)
    const retries = [];
    // A retry a quarter lease apart, as a client told `Retry-After: 1` would, for three leases.
    // (Not awaited one by one: a retry that runs the request waits on the gate too.) The
    // server's minute sweep of expired keys runs meanwhile too, as often as the retries.
    const sweeper = new SqlIdempotencyStore(s.fresh.db, { windowS: 1 });
    for (let i = 0; i < 12; i++) {
      await sweeper.sweep();
      retries.push(post());
      await sleep(250);
    }
    expect(counters.create).toBe(1);
    release();
    expect((await Promise.all(retries)).map((r) => r.status)).toEqual(retries.map(() => 409));
    expect((await first).status).toBe(201);
  });
});
