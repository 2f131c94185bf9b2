// Two `lavendly serve` processes on one PostgreSQL, one of whose machine clock steps a minute
// ahead after start-up (the start-up clock check has passed). A rate-limit bucket's row keeps the
// newest refill time any process wrote: the stepped process wrote one a minute ahead, and the
// other refilled nothing for that minute (429 with `Retry-After: 1`, again and again). Both now
// take their times from the database server's clock.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/accounts/accounts.js';
import { grant } from '../../src/ledger/index.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { childEnv, startServeProcess, type CliProcess } from '../publish-http/processes.js';

const LIMIT = 60; // one token a second
const stepPreload = path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers/clock-step.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!testDatabases().includes('postgres'))('an API process whose clock steps a minute ahead', () => {
  let fresh: FreshDb;
  const apis: Array<CliProcess & { origin: string }> = [];

  beforeAll(async () => {
    fresh = await freshDb('postgres');
    const env = childEnv(fresh, { LAVENDLY_SERVE_WORKER: '0', LAVENDLY_SIGNING_SECRET: 'clock-step-test-secret', LAVENDLY_RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    apis.push(await startServeProcess(env));
    apis.push(await startServeProcess({ ...env, NODE_OPTIONS: `--import ${stepPreload}`, CLOCK_STEP_MS: '60000' }));
    apis[1]!.child.kill('SIGUSR2');
    await apis[1]!.waitFor(/clock stepped/);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(apis.map((a) => a.stop()));
    await fresh.close();
  });

  const ledger = async (origin: string, key: string) => {
    const r = await fetch(`${origin}/v1/ledger`, { headers: { authorization: `Bearer ${key}` } });
    await r.arrayBuffer();
    return r.status;
  };

  it('a key emptied through it refills on the other within seconds, not a minute', async () => {
    const { apiKey } = await createAccount(fresh.db, { name: 'Clock step', scopes: [], credits: 10 }, async (db, id, credits, reason) => {
      await grant(db, id, credits, reason);
    });
    let served = 0;
    while ((await ledger(apis[1]!.origin, apiKey.key)) === 200) served++;
    expect(served).toBeGreaterThanOrEqual(LIMIT);
    // A token a second: a few seconds are plenty; 20 s stays far from the minute the step added.
    let status = 429;
    for (let i = 0; i < 40 && status === 429; i++) {
      await sleep(500);
      status = await ledger(apis[0]!.origin, apiKey.key);
    }
    expect(status).toBe(200);
  });
});
