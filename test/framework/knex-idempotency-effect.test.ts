// The framework's Knex idempotency store, as another team's app uses it: a keyed write records
// what it made in its own transaction (`recordEffect`), and a retry that takes over the claim of a
// process that died before storing its answer finds that record on `ctx.state.idempotency`
// (`idempotentRunOf`) instead of writing again. A real Koa listener and a real database.
import http from 'node:http';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotentRunOf, withIdempotency } from '@lavendly/framework';
import { createIdempotencyTable, KnexIdempotencyStore } from '@lavendly/framework/knex';
import { leaveClaimOfDeadServer } from '../helpers/dead-claim.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';

describe.each(testDatabases())('KnexIdempotencyStore.recordEffect on %s', (kind) => {
  let fresh: FreshDb;
  let server: http.Server;
  let base: string;
  let store: KnexIdempotencyStore;

  beforeAll(async () => {
    fresh = await freshDb(kind);
    const db = fresh.db;
    await createIdempotencyTable(db, 'fw_keys');
    await db.schema.createTable('orders', (t) => { t.string('id').primary(); t.string('item'); });
    store = new KnexIdempotencyStore(db, { table: 'fw_keys', leaseS: 1 });
    const app = new Koa();
    app.use(async (ctx) => {
      await withIdempotency(ctx, 'create_order', { store }, async () => {
        const run = idempotentRunOf(ctx);
        if (run?.effect) {
          ctx.status = 201;
          ctx.body = { id: run.effect, again: true };
          return;
        }
        const id = `ord_${Math.random().toString(36).slice(2)}`;
        await db.transaction(async (trx) => {
          await trx('orders').insert({ id, item: 'book' });
          if (run && !(await store.recordEffect(trx, run, id))) throw new Error('claim taken over');
        });
        // Something after the commit fails (reading the order back, say): the answer is a 500.
        if (ctx.get('x-fail-after-write')) throw new Error('read-back failed');
        ctx.status = 201;
        ctx.body = { id };
      });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server?.close();
    await fresh?.close();
  });

  const order = (key: string) => fetch(`${base}/orders`, { method: 'POST', headers: { 'idempotency-key': key } }).then(async (r) => ({ status: r.status, json: await r.json() }));
  const failingOrder = (key: string) => fetch(`${base}/orders`, { method: 'POST', headers: { 'idempotency-key': key, 'x-fail-after-write': '1' } }).then((r) => r.status);

  it('a retry after the answer was lost answers with the order already made', async () => {
    const first = await order('order-1');
    expect(first.status).toBe(201);
    // The process dies after the commit, before the answer is stored.
    expect(await leaveClaimOfDeadServer(fresh.db, 'order-1', 'fw_keys')).toBe(1);
    const retry = await order('order-1');
    expect(retry).toEqual({ status: 201, json: { id: first.json.id, again: true } });
    expect(await fresh.db('orders').pluck('id')).toEqual([first.json.id]);
  });

  it('a 5xx after the write keeps the key, so the retry answers with the order instead of making another', async () => {
    expect(await failingOrder('order-5xx')).toBe(500);
    const made = await fresh.db('orders').pluck('id');
    const retry = await order('order-5xx');
    expect(retry.status).toBe(201);
    expect(retry.json.again).toBe(true);
    expect(made).toContain(retry.json.id);
    expect(await fresh.db('orders').pluck('id')).toEqual(made);
  });

  it('a run that recorded nothing is freed by its 5xx, on a table made without the effect column', async () => {
    const bare = new KnexIdempotencyStore(fresh.db, { table: 'old_keys' });
    await fresh.db.schema.createTable('old_keys', (t) => {
      for (const c of ['id', 'account_id', 'operation_id', 'idem_key', 'request_hash', 'state', 'lock_token', 'locked_until', 'created_at', 'expires_at']) t.string(c);
      t.integer('status');
      t.text('headers');
      t.text('body');
    });
    const claim = await bare.claim('', 'create_order', 'old-1', 'hash');
    if (claim.kind !== 'claimed') throw new Error(claim.kind);
    await bare.release(claim.rowId, claim.token);
    expect(await fresh.db('old_keys').pluck('id')).toEqual([]);
  });

  it('refuses to record for a run whose claim is no longer its own', async () => {
    const claim = await store.claim('', 'create_order', 'order-2', 'hash');
    expect(claim.kind).toBe('claimed');
    if (claim.kind !== 'claimed') return;
    const recorded = await fresh.db.transaction((trx) => store.recordEffect(trx, { rowId: claim.rowId, token: 'stale', effect: null }, 'ord_x'));
    expect(recorded).toBe(false);
    expect(await store.recordEffect(fresh.db, { rowId: claim.rowId, token: claim.token, effect: null }, 'ord_y')).toBe(true);
  });
});
