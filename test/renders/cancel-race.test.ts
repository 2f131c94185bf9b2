/**
 * A render job failing permanently at the moment its render is canceled. The worker's failure
 * transaction locks the job row, then (in its hook) the render row; cancel must take them in the
 * same order, or the two deadlock on PostgreSQL and one side gets an error (for the client, a 500).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { claim, failJob, PermanentJobError } from '../../src/jobs/index.js';
import { onRenderFailed } from '../../src/renders/jobs.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createWorkflow, invariants, ledgerOf, startRender, useSmallClips } from './helpers.js';

// A render's job is due a few milliseconds after create_render answers (it queues behind its
// scene jobs); the claims below look a second ahead so a fast answer cannot find it not yet due.
const soon = () => new Date(Date.now() + 1_000);

describe.each(testDatabases())('cancel racing a failing render job on %s', (kind) => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer(kind);
    useSmallClips(s);
  });
  afterEach(async () => {
    await invariants(s);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('the failure holding the job row wins; the cancel waits for it and answers 409, with nothing left reserved', async () => {
    const acc = await s.account({ credits: 100 });
    const wf = await createWorkflow(s, acc.key, [1, 1]);
    const r = await startRender(s, acc.key, wf.id);
    expect(r.status, r.text).toBe(202);
    const renderRow = await s.fresh.db('renders').where({ id: r.json.id }).first();
    const job = await claim(s.fresh.db, { workerId: 'racing-worker', leaseMs: 60_000, types: ['render.run'], now: soon() });
    expect(job?.id).toBe(renderRow.job_id);

    let cancel: Promise<Awaited<ReturnType<typeof call>>> | null = null;
    const failure = { reason: 'permanent' as const, message: 'encoder crashed', error: new PermanentJobError('encoder crashed') };
    const failed = await failJob(s.fresh.db, job!.id, { workerId: 'racing-worker' }, failure, async (j, f, trx) => {
      // The job row is locked by this transaction: the cancel starts now and must queue behind it
      // instead of taking the render row first.
      cancel = call(`${s.base}/workflows/${wf.id}/renders/${r.json.id}`, { method: 'PATCH', key: acc.key, body: { cancel: true } });
      await new Promise((res) => setTimeout(res, 400));
      await onRenderFailed(j, f, trx);
    });
    expect(failed?.status).toBe('failed');
    const answer = await cancel!;
    expect(answer.status, answer.text).toBe(409);
    expect(answer.json.error.code).toBe('not_cancelable');
    const render = await call(`${s.base}/workflows/${wf.id}/renders/${r.json.id}`, { key: acc.key });
    expect(render.json).toMatchObject({ status: 'failed', credits_reserved: 0, credits_charged: 0 });
    expect(render.json.error.code).toBe('render_failed');
    const money = await ledgerOf(s, acc.key);
    expect([money.balance, money.reserved]).toEqual([100, 0]);
  });

  it('a cancel that gets the job row first wins; the failure then finds nothing to fail', async () => {
    const acc = await s.account({ credits: 100 });
    const wf = await createWorkflow(s, acc.key, [1]);
    const r = await startRender(s, acc.key, wf.id);
    const job = await claim(s.fresh.db, { workerId: 'late-worker', leaseMs: 60_000, types: ['render.run'], now: soon() });
    const canceled = await call(`${s.base}/workflows/${wf.id}/renders/${r.json.id}`, { method: 'PATCH', key: acc.key, body: { cancel: true } });
    expect(canceled.status, canceled.text).toBe(200);
    const failure = { reason: 'permanent' as const, message: 'too late', error: new PermanentJobError('too late') };
    expect(await failJob(s.fresh.db, job!.id, { workerId: 'late-worker' }, failure, onRenderFailed)).toBeNull();
    const render = await call(`${s.base}/workflows/${wf.id}/renders/${r.json.id}`, { key: acc.key });
    expect(render.json).toMatchObject({ status: 'canceled', credits_reserved: 0 });
    expect((await ledgerOf(s, acc.key)).reserved).toBe(0);
  });
});
