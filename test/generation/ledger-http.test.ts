/**
 * The ledger and usage operations over HTTP, on every database: positions and paged entries,
 * reservations for `ledger:write` keys (scope enforced), the 402/404/409/422 answers, and the
 * monthly usage and top-spender figures. The money invariants are checked after every test.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertInvariants, commit, reserve } from '../../src/ledger/index.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createFox, generate, ledger, useGeneration } from './helpers.js';

describe.each(testDatabases())('ledger and usage over HTTP on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterEach(async () => {
    await assertInvariants(s.fresh.db);
  });
  afterAll(async () => {
    await s.close();
  });

  const post = (path: string, key: string, body?: unknown, headers: Record<string, string> = {}) =>
    call(`${s.base}${path}`, { method: 'POST', key, body, headers });

  it('get_ledger: position and entries newest first, paged', async () => {
    const a = await s.account({ credits: 100 });
    for (let i = 0; i < 4; i++) await commit(s.fresh.db, (await reserve(s.fresh.db, a.id, 5, { reason: `job ${i}` })).id, 3);
    const first = await call(`${s.base}/ledger?limit=5`, { key: a.key });
    expect(first.status, first.text).toBe(200);
    expect(first.json).toMatchObject({ balance: 88, reserved: 0, available: 88, has_more: true });
    expect(first.json.data).toHaveLength(5);
    expect(first.json.data[0]).toMatchObject({ kind: 'release', amount: 2, reason: 'job 3', balance_after: 88, reserved_after: 0 });
    expect(first.json.data[0].id).toMatch(/^led_/);
    const seen = [...first.json.data];
    let cursor = first.json.next_cursor;
    while (cursor) {
      const page = await call(`${s.base}/ledger?limit=5&cursor=${encodeURIComponent(cursor)}`, { key: a.key });
      expect(page.status, page.text).toBe(200);
      seen.push(...page.json.data);
      cursor = page.json.next_cursor;
    }
    expect(seen.map((e) => e.kind)).toEqual([
      'release', 'commit', 'reserve', 'release', 'commit', 'reserve', 'release', 'commit', 'reserve', 'release', 'commit', 'reserve', 'grant',
    ]);
    // A cursor is bound to its account.
    const b = await s.account({ credits: 1 });
    const foreign = await call(`${s.base}/ledger?cursor=${encodeURIComponent(first.json.next_cursor)}`, { key: b.key });
    expect(foreign.status).toBe(400);
    expect(foreign.json.error.code).toBe('invalid_cursor');
  });

  it('reserve, commit and refund for ledger:write keys; 403 without the scope', async () => {
    const acc = await s.account({ credits: 50, scopes: ['ledger:write'] });
    const plain = await s.account({ credits: 50 });

    const denied = await post('/ledger/reservations', plain.key, { amount: 5, reason: 'tts' });
    expect(denied.status).toBe(403);
    expect(denied.json.error).toMatchObject({ code: 'forbidden', required_scopes: ['ledger:write'] });

    const r = await post('/ledger/reservations', acc.key, { amount: 25, reason: 'Voice-over', expires_in_s: 600, metadata: { job: 'tts-1' } }, { 'Idempotency-Key': 'vo-1' });
    expect(r.status, r.text).toBe(201);
    expect(r.json).toMatchObject({ status: 'open', amount: 25, committed: 0, released: 0, reason: 'Voice-over', metadata: { job: 'tts-1' }, resolved_at: null });
    expect(r.json.id).toMatch(/^rsv_/);
    expect(Date.parse(r.json.expires_at) - Date.parse(r.json.created_at)).toBe(600_000);
    const replay = await post('/ledger/reservations', acc.key, { amount: 25, reason: 'Voice-over', expires_in_s: 600, metadata: { job: 'tts-1' } }, { 'Idempotency-Key': 'vo-1' });
    expect(replay.text).toBe(r.text);
    expect(await ledger(s, acc.key)).toMatchObject({ balance: 50, reserved: 25, available: 25 });

    const tooMuch = await post('/ledger/reservations', acc.key, { amount: 26, reason: 'more' });
    expect(tooMuch.status).toBe(402);
    expect(tooMuch.json.error).toMatchObject({ code: 'insufficient_credits', needed: 26, available: 25 });

    const over = await post(`/ledger/reservations/${r.json.id}/commit`, acc.key, { amount: 30 });
    expect(over.status).toBe(422);
    expect(over.json.error).toMatchObject({ code: 'unprocessable', requested: 30, reserved: 25 });

    const scopeCommit = await post(`/ledger/reservations/${r.json.id}/commit`, plain.key, { amount: 1 });
    expect(scopeCommit.status).toBe(403);

    const done = await post(`/ledger/reservations/${r.json.id}/commit`, acc.key, { amount: 18 });
    expect(done.status, done.text).toBe(200);
    expect(done.json).toMatchObject({ id: r.json.id, status: 'committed', amount: 25, committed: 18, released: 7 });
    expect(done.json.resolved_at).not.toBeNull();
    for (const [path, body] of [[`/ledger/reservations/${r.json.id}/commit`, { amount: 1 }], [`/ledger/reservations/${r.json.id}/refund`, undefined]] as const) {
      const again = await post(path, acc.key, body);
      expect(again.status).toBe(409);
      expect(again.json.error).toMatchObject({ code: 'conflict', status: 'committed' });
    }
    expect(await ledger(s, acc.key)).toMatchObject({ balance: 32, reserved: 0, available: 32 });

    const r2 = await post('/ledger/reservations', acc.key, { amount: 10, reason: 'Music' });
    const refunded = await post(`/ledger/reservations/${r2.json.id}/refund`, acc.key);
    expect(refunded.status, refunded.text).toBe(200);
    expect(refunded.json).toMatchObject({ status: 'released', committed: 0, released: 10 });
    expect(Date.parse(r2.json.expires_at) - Date.parse(r2.json.created_at)).toBe(3_600_000);

    // Another account's reservation does not exist for this key; a malformed id is a 400.
    const other = await s.account({ credits: 10, scopes: ['ledger:write'] });
    const foreign = await post(`/ledger/reservations/${r2.json.id}/refund`, other.key);
    expect(foreign.status).toBe(404);
    const unknown = await post('/ledger/reservations/rsv_unknown/commit', acc.key, { amount: 0 });
    expect(unknown.status).toBe(404);
    const malformed = await post('/ledger/reservations/res_bad/commit', acc.key, { amount: 0 });
    expect(malformed.status).toBe(400);
  });

  it('concurrent commit and refund of one reservation over HTTP: exactly one wins', async () => {
    const acc = await s.account({ credits: 100, scopes: ['ledger:write'] });
    for (let round = 0; round < 5; round++) {
      const r = await post('/ledger/reservations', acc.key, { amount: 10, reason: `race ${round}` });
      const answers = await Promise.all([
        post(`/ledger/reservations/${r.json.id}/commit`, acc.key, { amount: 10 }),
        post(`/ledger/reservations/${r.json.id}/refund`, acc.key),
        post(`/ledger/reservations/${r.json.id}/commit`, acc.key, { amount: 4 }),
      ]);
      expect(answers.filter((x) => x.status === 200)).toHaveLength(1);
      expect(answers.filter((x) => x.status === 409)).toHaveLength(2);
    }
    expect((await ledger(s, acc.key)).reserved).toBe(0);
  });

  it("a generation's reservations are not the API's to resolve", async () => {
    useGeneration(s);
    const acc = await s.account({ credits: 50, scopes: ['ledger:write'] });
    const wf = await createFox(s, acc.key, [{ prompt: 'One shot', duration_s: 1 }]);
    const g = await generate(s, acc.key, wf.id, {});
    expect(g.status, g.text).toBe(202);
    const row = await s.fresh.db('generation_scenes').where({ generation_id: g.json.id }).first();
    const r = await post(`/ledger/reservations/${row.reservation_id}/commit`, acc.key, { amount: 10 });
    expect(r.status).toBe(409);
    expect(r.json.error).toMatchObject({ code: 'conflict', generation_id: g.json.id });
    const e = (await ledger(s, acc.key)).data[0];
    expect(e).toMatchObject({ kind: 'reserve', amount: 10, reservation_id: row.reservation_id });
    expect(e.reason).toMatch(new RegExp(`^Generation ${g.json.id}: scene 1 \\(one shot\\)$`));
    // Leave no open hold behind: the queue's failure path releases it.
    const { onSceneFailed } = await import('../../src/generation/index.js');
    const { failJob } = await import('../../src/jobs/index.js');
    await s.fresh.db('jobs').where({ id: row.job_id }).update({ status: 'running', lease_owner: 'test', attempts: 1 });
    await failJob(s.fresh.db, row.job_id, { workerId: 'test' }, { reason: 'permanent', message: 'test over' }, onSceneFailed);
    expect(await ledger(s, acc.key)).toMatchObject({ balance: 50, reserved: 0 });
  });

  it('monthly usage: credits from charges, per day, zero-filled; past and bad months', async () => {
    const a = await s.account({ credits: 100, scopes: ['ledger:write'] });
    const r = await post('/ledger/reservations', a.key, { amount: 12, reason: 'x' });
    await post(`/ledger/reservations/${r.json.id}/commit`, a.key, { amount: 7 });
    const now = await call(`${s.base}/usage/monthly`, { key: a.key });
    expect(now.status, now.text).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    expect(now.json).toMatchObject({ month: today.slice(0, 7), credits_spent: 7, clips_generated: 0, renders: 0 });
    expect(now.json.days.at(-1)).toEqual({ date: today, credits_spent: 7, clips_generated: 0, renders: 0 });
    expect(now.json.days.slice(0, -1).every((d: any) => d.credits_spent === 0)).toBe(true);

    const past = await call(`${s.base}/usage/monthly?month=2024-02`, { key: a.key });
    expect(past.status).toBe(200);
    expect(past.json).toMatchObject({ month: '2024-02', credits_spent: 0 });
    expect(past.json.days).toHaveLength(29);
    expect(past.json.days[28].date).toBe('2024-02-29');
    const future = await call(`${s.base}/usage/monthly?month=2999-01`, { key: a.key });
    expect(future.json.days).toEqual([]);
    const bad = await call(`${s.base}/usage/monthly?month=2024-13`, { key: a.key });
    expect(bad.status).toBe(400);
  });

  it('top spenders: admin only, ranked by credits spent this month', async () => {
    const spenders: { id: string; key: string }[] = [];
    for (const [name, spend] of [['Low', 3], ['High', 40], ['Mid', 11]] as const) {
      const acc = await s.account({ credits: 100, name, scopes: ['ledger:write'] });
      const r = await post('/ledger/reservations', acc.key, { amount: spend, reason: 'work' });
      expect((await post(`/ledger/reservations/${r.json.id}/commit`, acc.key, { amount: spend })).status).toBe(200);
      spenders.push(acc);
    }
    const plain = await s.account();
    const denied = await call(`${s.base}/usage/top-spenders`, { key: plain.key });
    expect(denied.status).toBe(403);
    const admin = await s.account({ scopes: ['admin'] });
    const top = await call(`${s.base}/usage/top-spenders?top=100`, { key: admin.key });
    expect(top.status, top.text).toBe(200);
    const mine = top.json.data.filter((d: any) => spenders.some((x) => x.id === d.account_id));
    expect(mine.map((d: any) => [d.account_name, d.credits_spent])).toEqual([['High', 40], ['Mid', 11], ['Low', 3]]);
    const spent = top.json.data.map((d: any) => d.credits_spent);
    expect(spent).toEqual([...spent].sort((x: number, y: number) => y - x));
    const one = await call(`${s.base}/usage/top-spenders?top=1`, { key: admin.key });
    expect(one.json.data).toHaveLength(1);
    const old = await call(`${s.base}/usage/top-spenders?month=2020-01`, { key: admin.key });
    expect(old.json).toEqual({ month: '2020-01', data: [] });
  });
});
