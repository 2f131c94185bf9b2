import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { counters, mountFixtures, resetCounters } from './fixture-ops.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The claim lease is shortened to 0.3 s and the replay window to 0.6 s; the operation runs 1.2 s,
// four leases and two windows. The running request renews its claim, so retries meanwhile are
// told "in progress" and never run it again.
describe.each(testDatabases())('idempotency claim outliving its lease on %s', (kind) => {
  let s: TestServer;
  let alice: { id: string; key: string };

  beforeAll(async () => {
    s = await startTestServer(kind, { mount: mountFixtures, config: { idempotencyLeaseS: 0.3, idempotencyWindowS: 0.6 } });
    alice = await s.account({ name: 'Alice' });
  });
  afterAll(async () => { await s.close(); });

  it('a request longer than the lease executes once; retries meanwhile get 409, afterwards the replay', async () => {
    resetCounters();
    const post = () => call(`${s.base}/things`, { key: alice.key, body: { name: 'slower-than-lease' }, headers: { 'idempotency-key': 'long-1' } });
    const first = post();
    const retries = [];
    for (let i = 0; i < 3; i++) {
      await sleep(350); // each retry comes after the previous lease would have run out
      retries.push(await post());
    }
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
