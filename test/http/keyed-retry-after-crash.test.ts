// A keyed write whose server died after the write committed but before its answer was stored:
// the key's row stays claimed ("running") by a process that no longer renews it, with no answer.
// The client's retry takes the claim over once it runs out. Before, that retry ran the write
// again: a second workflow, a second reservation of credits, a second render, a 409 for a commit
// that had succeeded. Now the write records what it made on the key's row in its own transaction
// (src/http/keyed-write.ts), and the retry answers with that.
//
// The crash is left as it leaves the database: the answer is wiped, the recorded effect kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../helpers/db.js';
import { leaveClaimOfDeadServer } from '../helpers/dead-claim.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { defaultWebhookOptions } from '../../src/webhooks/options.js';
import { keyedWrite } from '../../src/http/keyed-write.js';
import { createWorkflow } from '../../src/workflows/store.js';
import type { AppContext } from '../../src/http/context.js';
import { SqlIdempotencyStore } from '../../src/http/idempotency-store.js';

const shots = { name: 'Fox', shots: [{ prompt: 'a sleepy fox finds an old map', duration_s: 2 }] };

describe.each(testDatabases())('keyed writes retried after their server died, on %s', (kind) => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer(kind, {
      config: { idempotencyLeaseS: 1 },
      services: { webhookOptions: { ...defaultWebhookOptions, addressPolicy: { allowEndpoints: ['127.0.0.1:9'] } } },
    });
  });
  afterAll(async () => { await s?.close(); });

  /** Sends `body` to `path` with `key`, "kills" the server before the answer is stored, and retries. */
  async function crashAndRetry(path: string, apiKey: string, key: string, body?: unknown) {
    const send = () => call(`${s.base}${path}`, { key: apiKey, method: 'POST', body, headers: { 'idempotency-key': key } });
    const first = await send();
    expect(first.status, first.text).toBeLessThan(300);
    expect(await leaveClaimOfDeadServer(s.fresh.db, key)).toBe(1);
    const retry = await send();
    expect(retry.status, retry.text).toBe(first.status);
    expect(retry.json.id).toBe(first.json.id);
    return { first, retry };
  }

  it('create_workflow: one workflow', async () => {
    const user = await s.account();
    await crashAndRetry('/workflows', user.key, 'wf-once', shots);
    expect(await s.fresh.db('workflows').where({ account_id: user.id }).pluck('id')).toHaveLength(1);
  });

  it('reserve_credits and commit_reserve: one reservation, charged once', async () => {
    const user = await s.account({ credits: 50, scopes: ['ledger:write'] });
    const { first } = await crashAndRetry('/ledger/reservations', user.key, 'rsv-once', { amount: 20, reason: 'voice-over' });
    expect(await s.fresh.db('reservations').where({ account_id: user.id }).pluck('id')).toEqual([first.json.id]);
    const { retry } = await crashAndRetry(`/ledger/reservations/${first.json.id}/commit`, user.key, 'commit-once', { amount: 15 });
    expect(retry.json).toMatchObject({ status: 'committed', committed: 15 });
    const ledger = await call(`${s.base}/ledger`, { key: user.key });
    expect(ledger.json).toMatchObject({ balance: 35, reserved: 0 });
  });

  it('generate_scene and create_render: one generation, one render', async () => {
    const user = await s.account({ credits: 100 });
    const wf = await call(`${s.base}/workflows`, { key: user.key, body: shots });
    const gen = await crashAndRetry(`/workflows/${wf.json.id}/generate`, user.key, 'gen-once');
    expect(gen.retry.json.scenes).toEqual(gen.first.json.scenes);
    expect(await s.fresh.db('generations').where({ workflow_id: wf.json.id }).pluck('id')).toEqual([gen.first.json.id]);

    const other = await call(`${s.base}/workflows`, { key: user.key, body: shots });
    const render = await crashAndRetry(`/workflows/${other.json.id}/renders`, user.key, 'render-once', { max_credits: 100 });
    expect(await s.fresh.db('renders').where({ workflow_id: other.json.id }).pluck('id')).toEqual([render.first.json.id]);
    expect(await s.fresh.db('generations').where({ workflow_id: other.json.id }).pluck('id')).toHaveLength(1);
  });

  it('create_webhook_endpoint: one endpoint, and the retry still carries its secret', async () => {
    const user = await s.account();
    const { first, retry } = await crashAndRetry('/webhooks/endpoints', user.key, 'hook-once', { url: 'http://127.0.0.1:9/hook', events: ['render.succeeded'] });
    expect(retry.json.secret).toBe(first.json.secret);
    expect(await s.fresh.db('webhook_endpoints').where({ account_id: user.id }).pluck('id')).toEqual([first.json.id]);
  });

  it('connect_channel: one channel', async () => {
    const user = await s.account();
    const admin = await s.account({ scopes: ['admin'] });
    await crashAndRetry('/channels', admin.key, 'channel-once', { account_id: user.id, platform: 'local', name: 'Folder', credentials: {} });
    expect(await s.fresh.db('channels').where({ account_id: user.id }).pluck('id')).toHaveLength(1);
  });

  it('a 5xx after the write committed keeps the key for the retry, which answers with what was made', async () => {
    const user = await s.account();
    const store = new SqlIdempotencyStore(s.fresh.db, { windowS: 300, leaseS: 30 });
    const claim = await store.claim(user.id, 'create_workflow', 'late-5xx', 'hash');
    if (claim.kind !== 'claimed') throw new Error(`claim: ${claim.kind}`);
    const ctx = { db: s.fresh.db, koa: { state: { idempotency: { rowId: claim.rowId, token: claim.token, effect: null } } } } as unknown as AppContext;
    const made = await keyedWrite(ctx, (trx) => createWorkflow(trx, user.id, shots), {
      idOf: (m) => m.workflow.id, find: () => Promise.reject(new Error('not a takeover')),
    });
    // Reading the answer back failed (a 5xx): the layer releases the claim.
    await store.release(claim.rowId, claim.token);
    expect(await store.claim(user.id, 'create_workflow', 'late-5xx', 'hash')).toMatchObject({ kind: 'claimed', effect: made.workflow.id });
    // Without an effect (the write never committed), release frees the key for a fresh run.
    const fresh = await store.claim(user.id, 'create_workflow', 'nothing-made', 'hash');
    if (fresh.kind !== 'claimed') throw new Error(`claim: ${fresh.kind}`);
    await store.release(fresh.rowId, fresh.token);
    expect(await s.fresh.db('idempotency_keys').where({ idem_key: 'nothing-made' }).pluck('id')).toEqual([]);
  });

  it('a run whose claim a retry took over makes no change of its own', async () => {
    const user = await s.account();
    const db = s.fresh.db;
    const now = new Date().toISOString();
    await db('idempotency_keys').insert({
      id: 'idem_taken', account_id: user.id, operation_id: 'create_workflow', idem_key: 'taken', request_hash: 'h', state: 'running',
      lock_token: 'the-retry', locked_until: now, created_at: now, expires_at: now,
    });
    // The slow first run still holds its old token.
    const ctx = { db, koa: { state: { idempotency: { rowId: 'idem_taken', token: 'the-first-run', effect: null } } } } as unknown as AppContext;
    await expect(keyedWrite(ctx, (trx) => createWorkflow(trx, user.id, shots), {
      idOf: (made) => made.workflow.id, find: () => Promise.reject(new Error('not a takeover')),
    })).rejects.toMatchObject({ code: 'idempotency_key_in_progress' });
    expect(await db('workflows').where({ account_id: user.id }).pluck('id')).toEqual([]);
  });
});
