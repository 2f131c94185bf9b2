import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { counters, gates, mountFixtures, resetCounters } from './fixture-ops.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The claim lease is shortened to 0.5 s and the replay window to 1 s. The operation is held open
// by a gate until every retry has been answered, each retry arriving after the previous lease
// would have run out, so the request outlives several leases however loaded the machine is. The
// running request renews its claim, so retries meanwhile are told "in progress" and never run it.
describe.each(testDatabases())('idempotency claim outliving its lease on %s', (kind) => {
  let s: TestServer;
  let alice: { id: string; key: string };

  beforeAll(async () => {
    s = await startTestServer(kind, { mount: mountFixtures, config: { idempotencyLeaseS: 0.5, idempotencyWindowS: 1 } });
    alice = await s.account({ name: 'Alice' });
  });
  afterAll(async () => { await s.close(); });

  it('a request longer than the lease executes once; retries meanwhile get 409, afterwards the replay', async () => {
    resetCounters();
    let release!: () => void;
    gates.held = new Promise<void>((r) => { release = r; });
    const post = () => call(`${s.base}/things`, { key: alice.key, body: { name: 'held' }, headers: { 'idempotency-key': 'long-1' } });
    const first = post();
    while (counters.create === 0) await sleep(10);
    const retries = [];
    for (let i = 0; i < 3; i++) {
      await sleep(600); // each retry comes after the previous lease would have run out
      retries.push(await post());
    }
    release();
    for (const r of retries) {
      expect(r.status).toBe(409);
      expect(r.json.error.code).toBe('idempotency_key_in_progress');
    }
    const done = await first;
    expect(done.status).toBe(201);
    const replay = await post();
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(done.text);
    expect(counters.create).toBe(1);
  });
});
