// Two `lavendly serve` processes on one database behind the same API key: the rate limit is one
// bucket for both, and a key revoked through one of them (or the CLI, a third process) is refused
// by both at once, although each still has the key in its lookup cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../../src/accounts/accounts.js';
import { grant } from '../../src/ledger/index.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { runCli } from '../helpers/cli-run.js';
import { childEnv, startServeProcess, type CliProcess } from '../publish-http/processes.js';

const LIMIT = 30;

describe.each(testDatabases())('two API processes on one %s database', (kind) => {
  let fresh: FreshDb;
  let apis: Array<CliProcess & { origin: string }> = [];
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fresh = await freshDb(kind);
    env = childEnv(fresh, {
      LAVENDLY_SERVE_WORKER: '0',
      LAVENDLY_SIGNING_SECRET: 'two-apis-test-secret',
      LAVENDLY_RATE_LIMIT_PER_MINUTE: String(LIMIT),
      // A key lookup stays cached a minute: a refusal seen sooner comes from the per-request check.
      LAVENDLY_AUTH_CACHE_MS: '60000',
    });
    // One at a time: each applies the migrations at start.
    apis.push(await startServeProcess(env));
    apis.push(await startServeProcess(env));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(apis.map((a) => a.stop()));
    apis = [];
    await fresh.close();
  });

  async function newKey(scopes: string[] = []): Promise<{ key: string; id: string; accountId: string }> {
    const { account, apiKey } = await createAccount(fresh.db, { name: 'Scale test', scopes, credits: 100 }, async (db, id, credits, reason) => {
      await grant(db, id, credits, reason);
    });
    return { key: apiKey.key, id: apiKey.id, accountId: account.id };
  }

  const ledger = (origin: string, key: string) =>
    fetch(`${origin}/v1/ledger`, { headers: { authorization: `Bearer ${key}` } }).then(async (r) => {
      await r.arrayBuffer();
      return r.status;
    });

  it('the rate limit holds across both: the pair accepts the limit once, plus what refills meanwhile', async () => {
    const { key } = await newKey();
    const perProcess = 2 * LIMIT;
    const t0 = performance.now();
    const statuses = await Promise.all(apis.flatMap((api) => Array.from({ length: perProcess }, () => ledger(api.origin, key))));
    const elapsedS = (performance.now() - t0) / 1000;
    const accepted = statuses.filter((s) => s === 200).length;
    const refused = statuses.filter((s) => s === 429).length;
    const byProcess = apis.map((_, i) => statuses.slice(i * perProcess, (i + 1) * perProcess).filter((s) => s === 200).length);
    // What one bucket may have refilled during the burst (LIMIT per minute).
    const refill = Math.ceil((elapsedS * LIMIT) / 60);
    console.log(`[${kind}] ${statuses.length} requests over 2 processes in ${elapsedS.toFixed(2)} s: `
      + `${accepted} accepted (${byProcess.join(' + ')}), ${refused} refused; limit ${LIMIT}, refill allowance ${refill}`);
    expect(accepted + refused).toBe(statuses.length);
    expect(accepted).toBeGreaterThanOrEqual(LIMIT);
    expect(accepted).toBeLessThanOrEqual(LIMIT + refill);
    // Per-process buckets would have let each process accept LIMIT.
    expect(accepted).toBeLessThan(2 * LIMIT);
  });

  // Revoked through the first API process (the key endpoint, with an admin key of the same
  // account), or by an operator with the CLI.
  const revokers: Array<[string, (id: string, adminKey: string) => Promise<void>]> = [
    ['through one API process', async (id, adminKey) => {
      const r = await fetch(`${apis[0]!.origin}/v1/keys/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminKey}` } });
      expect(r.status, await r.text()).toBe(200);
    }],
    ['with the CLI', async (id) => {
      const revoked = await runCli(['keys', 'revoke', '--key-id', id], env, 60_000);
      expect(revoked.code, revoked.stderr).toBe(0);
    }],
  ];

  it.each(revokers)('a key revoked %s is refused by both processes within one second', async (how, revoke) => {
    const admin = await newKey(['admin']);
    const { key, id } = await createApiKey(fresh.db, admin.accountId, ['ledger:write']);
    const reserveOne = (origin: string) => fetch(`${origin}/v1/ledger/reservations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': `r-${crypto.randomUUID()}` },
      body: JSON.stringify({ amount: 1, reason: 'scale test' }),
    });
    // Both processes know the key (and cache it for a minute); it can reserve credits.
    for (const api of apis) expect(await ledger(api.origin, key)).toBe(200);
    expect((await reserveOne(apis[0]!.origin)).status).toBe(201);
    await revoke(id, admin.key);
    const returned = performance.now();
    const refusedAfterMs = await Promise.all(apis.map(async (api) => {
      for (;;) {
        const status = await ledger(api.origin, key);
        if (status === 401) return performance.now() - returned;
        expect(status).toBe(200);
      }
    }));
    console.log(`[${kind}] key revoked ${how}: refused ${refusedAfterMs.map((ms) => `${ms.toFixed(1)} ms`).join(' and ')} after the revoke returned`);
    for (const ms of refusedAfterMs) expect(ms).toBeLessThan(1000);
    // And it cannot reserve credits on either.
    for (const api of apis) expect((await reserveOne(api.origin)).status).toBe(401);
    const reservations = await fresh.db('reservations').where({ account_id: admin.accountId }).count<{ n: number | string }[]>({ n: '*' }).first();
    expect(Number(reservations?.n)).toBe(1);
  });
});
