// Found by bench/chaos.ts (PostgreSQL stopped for a few seconds under load): a keyed write whose
// work had committed answered 503 when the database went away just before its answer was stored
// under the Idempotency-Key. The client, told to retry with the same key, met 409 in_progress
// until the claim's lease ran out, then ran the request again: a second workflow (a second
// publication, render ...). Now the request answers what it did, and the answer is stored once
// the database is back, so the retry is a replay.
//
// The database refuses exactly one statement, the one storing the answer, with PostgreSQL's
// "terminating connection due to administrator command" (57P01), from a trigger: a sequence (not
// rolled back with the failed statement) makes it refuse only the first time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { refuseFirstUpdate } from '../helpers/pg-faults.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(testDatabases().includes('postgres'))('a keyed write whose answer cannot be stored at once (PostgreSQL)', () => {
  let s: TestServer;
  let user: { id: string; key: string };

  beforeAll(async () => {
    s = await startTestServer('postgres', { config: { idempotencyLeaseS: 1 } });
    user = await s.account({ name: 'Chaos' });
    await refuseFirstUpdate(s.fresh.db, 'refuse_first_answer', 'idempotency_keys', "new.state = 'done'");
  });
  afterAll(async () => { await s?.close(); });

  it('answers what it did, and a retry with the same key replays it instead of creating again', async () => {
    const body = { name: 'Once only', shots: [{ prompt: 'a lighthouse at dusk', duration_s: 1 }] };
    const post = () => call(`${s.base}/workflows`, { key: user.key, body, headers: { 'idempotency-key': 'create-once' } });
    const first = await post();
    expect(first.status, first.text).toBe(201);
    // The retry a client sends when it did not get that answer (connection lost): a replay, after
    // at most a short 409 while the answer is being stored.
    let retry = await post();
    for (let i = 0; retry.status === 409 && i < 100; i++) {
      expect(retry.json.error.code).toBe('idempotency_key_in_progress');
      await sleep(100);
      retry = await post();
    }
    expect(retry.status, retry.text).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.json.id).toBe(first.json.id);
    const rows = await s.fresh.db('workflows').where({ account_id: user.id }).count('* as n').first();
    expect(Number(rows?.n)).toBe(1);
    expect(s.logs.some((l) => l.msg === 'idempotency answer not stored yet; storing it in the background')).toBe(true);
  }, 60_000);
});
