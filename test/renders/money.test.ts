import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { claim, type Worker } from '../../src/jobs/index.js';
import type { MediaProviders } from '../../src/media/index.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createWorkflow, invariants, ledgerOf, smallClips, startRender, startWorker, useSmallClips, waitForRender } from './helpers.js';

/** Renders that end badly: a scene that fails, a cancel, a worker that dies. Money must add up. */
describe.each(testDatabases())('render money on %s', (kind) => {
  let s: TestServer;
  let worker: Worker | null = null;
  let providers: MediaProviders;
  const healthy = smallClips().providers;

  beforeAll(async () => {
    s = await startTestServer(kind);
    useSmallClips(s);
    // One object the worker reads at every call: each test puts the providers it needs in it.
    providers = { ...healthy };
  });
  afterEach(async () => {
    await worker?.stop({ abortAfterMs: 500 });
    worker = null;
    await invariants(s);
  });
  afterAll(async () => {
    await s?.close();
  });

  const runnableRenderJobs = async () =>
    (await s.fresh.db('jobs').where({ type: 'render.run' }).whereIn('status', ['queued', 'running']).select('id', 'status', 'payload'))
      .map((j) => ({ id: String(j.id), status: String(j.status), render_id: (typeof j.payload === 'string' ? JSON.parse(j.payload) : j.payload)?.render_id }));
  const events = async (type: string, renderId: string) =>
    (await s.fresh.db('webhook_events').where({ type })).filter((e) => JSON.parse(e.payload).render_id === renderId);

  it('a render whose scene 2 fails charges only the clips delivered and releases the rest', async () => {
    Object.assign(providers, smallClips({ LAVENDLY_FAIL_SCENES: '2' }).providers);
    worker = startWorker(s, providers);
    const acc = await s.account({ credits: 100 });
    const wf = await createWorkflow(s, acc.key, [1, 1, 1]);
    const r = await startRender(s, acc.key, wf.id);
    expect(r.json.credits_reserved).toBe(30);
    const done = await waitForRender(s, acc.key, wf.id, r.json.id);
    expect(done).toMatchObject({ status: 'failed', credits_charged: 20, credits_reserved: 0, scenes_generated: 2, url: null });
    expect(done.error.code).toBe('scene_failed');
    expect(done.error.message).toContain('scene 2');
    const money = await ledgerOf(s, acc.key);
    expect([money.balance, money.reserved, money.available]).toEqual([80, 0, 80]);
    expect(await events('render.failed', r.json.id)).toHaveLength(1);
    // The delivered clips are kept: rendering again only generates scene 2.
    Object.assign(providers, healthy);
    const again = await startRender(s, acc.key, wf.id);
    expect(again.json).toMatchObject({ scenes_reused: 2, credits_reserved: 10 });
    const ok = await waitForRender(s, acc.key, wf.id, again.json.id);
    expect(ok).toMatchObject({ status: 'succeeded', credits_charged: 10, scenes_generated: 1 });
    expect(await events('render.succeeded', again.json.id)).toHaveLength(1);
    expect((await ledgerOf(s, acc.key)).balance).toBe(70);
  });

  it('by default (max_credits 0) a render that would generate is refused with the price, reserving nothing', async () => {
    worker = startWorker(s, providers);
    const acc = await s.account({ credits: 100 });
    const wf = await createWorkflow(s, acc.key, [1, 1]);
    const refused = await startRender(s, acc.key, wf.id, { max_credits: undefined });
    expect(refused.status, refused.text).toBe(402);
    expect(refused.json.error).toMatchObject({ code: 'max_credits_exceeded', needed: 20, max_credits: 0 });
    const short = await startRender(s, acc.key, wf.id, { max_credits: 19 });
    expect(short.json.error).toMatchObject({ code: 'max_credits_exceeded', needed: 20, max_credits: 19 });
    expect(await ledgerOf(s, acc.key)).toMatchObject({ balance: 100, reserved: 0 });
    expect(await s.fresh.db('renders').where({ workflow_id: wf.id })).toHaveLength(0);
    expect(await s.fresh.db('generations').where({ workflow_id: wf.id })).toHaveLength(0);
    const allowed = await startRender(s, acc.key, wf.id, { max_credits: 20 });
    expect(allowed.status, allowed.text).toBe(202);
    expect(allowed.json.credits_reserved).toBe(20);
    expect((await waitForRender(s, acc.key, wf.id, allowed.json.id)).status).toBe('succeeded');
  });

  it('canceling a running render releases what it reserved; canceling again answers 409 not_cancelable', async () => {
    Object.assign(providers, smallClips({ LAVENDLY_PROVIDER_LATENCY_MS: '1500' }).providers);
    worker = startWorker(s, providers);
    const acc = await s.account({ credits: 100 });
    const wf = await createWorkflow(s, acc.key, [1, 1]);
    const r = await startRender(s, acc.key, wf.id);
    expect(r.json.credits_reserved).toBe(20);
    expect((await ledgerOf(s, acc.key)).reserved).toBe(20);
    // Busy while it renders: the workflow cannot be edited under it.
    const edit = await call(`${s.base}/workflows/${wf.id}`, { method: 'PUT', key: acc.key, body: { name: 'Renamed' } });
    expect(edit.status).toBe(409);
    expect(edit.json.error.code).toBe('workflow_busy');

    const url = `${s.base}/workflows/${wf.id}/renders/${r.json.id}`;
    const canceled = await call(url, { method: 'PATCH', key: acc.key, body: { cancel: true, label: 'Abandoned' } });
    expect(canceled.status, canceled.text).toBe(200);
    expect(canceled.json).toMatchObject({ status: 'canceled', label: 'Abandoned', credits_reserved: 0, credits_charged: 0 });
    const money = await ledgerOf(s, acc.key);
    expect([money.balance, money.reserved]).toEqual([100, 0]);
    const twice = await call(url, { method: 'PATCH', key: acc.key, body: { cancel: true } });
    expect(twice.status).toBe(409);
    expect(twice.json.error.code).toBe('not_cancelable');
    // A label still changes on a finished render.
    const relabeled = await call(url, { method: 'PATCH', key: acc.key, body: { label: null } });
    expect(relabeled.json.label).toBeNull();
    // Whatever the worker was doing is discarded: nothing is charged later.
    await new Promise((res) => setTimeout(res, 2000));
    expect((await ledgerOf(s, acc.key)).balance).toBe(100);
    expect((await call(url, { key: acc.key })).json.status).toBe('canceled');
    // And the workflow can be rendered again.
    const next = await startRender(s, acc.key, wf.id);
    expect(next.status).toBe(202);
    const stop = await call(`${s.base}/workflows/${wf.id}/renders/${next.json.id}`, { method: 'PATCH', key: acc.key, body: { cancel: true } });
    expect(stop.status, stop.text).toBe(200);
    expect((await ledgerOf(s, acc.key)).reserved).toBe(0);
    // Nothing of the canceled renders is left to run.
    expect(await runnableRenderJobs()).toEqual([]);
  });

  it('a render job whose worker died is run again by the queue, and nothing is charged twice', async () => {
    Object.assign(providers, healthy);
    const acc = await s.account({ credits: 100 });
    const wf = await createWorkflow(s, acc.key, [1, 1]);
    const r = await startRender(s, acc.key, wf.id);
    const renderRow = await s.fresh.db('renders').where({ id: r.json.id }).first();
    // The claim below must take this render's job: no other render.run job may be runnable.
    expect((await runnableRenderJobs()).map((j) => j.id)).toEqual([renderRow.job_id]);
    // A worker takes the render job and dies at once (its lease runs out without a heartbeat). The
    // job is due a few ms after the answer (behind its scene jobs), hence the claim a second ahead.
    const dead = await claim(s.fresh.db, { workerId: 'dead-worker', leaseMs: 300, types: ['render.run'], now: new Date(Date.now() + 1_000) });
    expect(dead?.id).toBe(renderRow.job_id);
    worker = startWorker(s, providers, { leaseMs: 2_000 });
    const done = await waitForRender(s, acc.key, wf.id, r.json.id);
    expect(done).toMatchObject({ status: 'succeeded', credits_charged: 20, credits_reserved: 0, scenes_generated: 2 });
    const job = await s.fresh.db('jobs').where({ id: renderRow.job_id }).first();
    expect(Number(job.attempts)).toBeGreaterThanOrEqual(2);
    const money = await ledgerOf(s, acc.key);
    expect([money.balance, money.reserved]).toEqual([80, 0]);
    expect(money.data.filter((e: any) => e.kind === 'commit')).toHaveLength(2);
    expect(await events('render.succeeded', r.json.id)).toHaveLength(1);
  });

  it('asks for the credits up front: 402 when they do not cover the scenes to generate, and nothing is left behind', async () => {
    const acc = await s.account({ credits: 15 });
    const wf = await createWorkflow(s, acc.key, [1, 1]);
    const r = await startRender(s, acc.key, wf.id);
    expect(r.status).toBe(402);
    expect(r.json.error).toMatchObject({ code: 'insufficient_credits', needed: 20, available: 15 });
    expect(await s.fresh.db('renders').where({ workflow_id: wf.id })).toHaveLength(0);
    expect((await ledgerOf(s, acc.key)).reserved).toBe(0);
  });
});
