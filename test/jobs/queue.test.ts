import { describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/knex.js';
import {
  backoffMs, cancelJob, claim, claimBatch, completeAndClaim, completeJob, enqueue, getJob, heartbeat, queueDepth, reapExpiredLeases, type Job,
} from '../../src/jobs/index.js';
import { completeManyAndClaim, resultJson } from '../../src/jobs/queue.js';
import { poisonCompletions } from '../helpers/poisoned-completion.js';
import { testDatabases, type FreshDb } from '../helpers/db.js';
import { checkedDbPerTest } from '../helpers/checked-db.js';

describe.each(testDatabases())('job queue on %s', (kind) => {
  let f: FreshDb;
  let db: Db;
  checkedDbPerTest(kind, {
    onFresh: (fresh) => {
      f = fresh;
      db = fresh.db;
    },
  });

  it('enqueues, claims due jobs of known types in order, completes them', async () => {
    const a = await enqueue(db, { type: 'a', payload: { n: 1 } });
    const later = await enqueue(db, { type: 'a', payload: { n: 2 }, runAt: new Date(Date.now() + 60_000) });
    await enqueue(db, { type: 'b', payload: null });
    expect(await queueDepth(db)).toEqual({ queued: 3, running: 0 });

    const got = await claim(db, { workerId: 'w1', leaseMs: 1000, types: ['a'] });
    expect(got).toMatchObject({ id: a.id, status: 'running', attempts: 1, lease_owner: 'w1', payload: { n: 1 } });
    expect(await claim(db, { workerId: 'w1', leaseMs: 1000, types: ['a'] })).toBeNull(); // `later` is not due
    expect(await queueDepth(db)).toEqual({ queued: 2, running: 1 });

    expect(await completeJob(db, a.id, 'w2', { nope: true })).toBe(false); // not the lease owner
    expect(await completeJob(db, a.id, 'w1', { ok: true })).toBe(true);
    expect(await getJob(db, a.id)).toMatchObject({ status: 'succeeded', result: { ok: true }, lease_owner: null });

    const due = await claim(db, { workerId: 'w1', leaseMs: 1000, types: ['a'], now: new Date(Date.now() + 61_000) });
    expect(due?.id).toBe(later.id);
  });

  it('completes a job and claims the next due ones of its types in one call, guarded like each alone', async () => {
    // Due at distinct past moments: jobs due in the same millisecond have no order among them.
    const dueAgo = (ms: number) => new Date(Date.now() - ms);
    const first = await enqueue(db, { type: 'a', payload: 1, runAt: dueAgo(3000) });
    const second = await enqueue(db, { type: 'a', payload: 2, runAt: dueAgo(2000) });
    const third = await enqueue(db, { type: 'a', payload: 3, runAt: dueAgo(1000) });
    await enqueue(db, { type: 'b', payload: null });
    const owner = { workerId: 'w1', leaseMs: 1000, types: ['a'] };
    expect((await claim(db, owner))?.id).toBe(first.id);

    // Not the lease owner: nothing is completed, and the claim still happens (for w2).
    const stranger = await completeAndClaim(db, first.id, { x: 1 }, { ...owner, workerId: 'w2' }, 1);
    expect(stranger.completed).toBe(false);
    expect(stranger.jobs.map((j) => [j.id, j.lease_owner, j.attempts])).toEqual([[second.id, 'w2', 1]]);
    expect(await getJob(db, first.id)).toMatchObject({ status: 'running', lease_owner: 'w1' });

    const next = await completeAndClaim(db, first.id, { ok: true }, owner, 2);
    expect(next.completed).toBe(true);
    expect(next.jobs.map((j) => j.id)).toEqual([third.id]); // only type a, only what is queued
    expect(await getJob(db, first.id)).toMatchObject({ status: 'succeeded', result: { ok: true }, lease_owner: null });
    expect(await getJob(db, third.id)).toMatchObject({ status: 'running', lease_owner: 'w1' });

    const last = await completeAndClaim(db, third.id, null, owner, 1);
    expect(last).toEqual({ completed: true, jobs: [] });
    expect(await queueDepth(db)).toEqual({ queued: 1, running: 1 });
  });

  it('completes a group of jobs and claims for the freed slots in one transaction, each completion guarded alone', async () => {
    const dueAgo = (ms: number) => new Date(Date.now() - ms);
    const jobs: Job[] = [];
    for (let i = 0; i < 5; i++) jobs.push(await enqueue(db, { type: 'a', payload: i, runAt: dueAgo(5000 - i * 1000) }));
    const w1 = { workerId: 'w1', leaseMs: 10_000, types: ['a'] };
    expect((await claimBatch(db, w1, 2)).map((j) => j.id)).toEqual([jobs[0]!.id, jobs[1]!.id]);
    expect((await claim(db, { ...w1, workerId: 'w2' }))?.id).toBe(jobs[2]!.id);

    const done = (i: number, result: unknown) => ({ jobId: jobs[i]!.id, resultJson: resultJson(result) });
    // jobs[2] is w2's: its completion by w1 is refused, the other two go through, and w1 takes
    // the two jobs still queued.
    const group = await completeManyAndClaim(db, [done(0, { n: 0 }), done(2, 'not mine'), done(1, { n: 1 })], w1, 2);
    expect(group.completed).toEqual([true, false, true]);
    expect(group.jobs.map((j) => [j.id, j.lease_owner, j.attempts])).toEqual([[jobs[3]!.id, 'w1', 1], [jobs[4]!.id, 'w1', 1]]);
    expect(await getJob(db, jobs[0]!.id)).toMatchObject({ status: 'succeeded', result: { n: 0 } });
    expect(await getJob(db, jobs[1]!.id)).toMatchObject({ status: 'succeeded', result: { n: 1 } });
    expect(await getJob(db, jobs[2]!.id)).toMatchObject({ status: 'running', lease_owner: 'w2', result: null });

    // Without a claim, and completing what was just claimed.
    const last = await completeManyAndClaim(db, [done(3, null), done(4, null)], w1, 0);
    expect(last).toEqual({ completed: [true, true], jobs: [] });
    expect(await queueDepth(db)).toEqual({ queued: 0, running: 1 });
  });

  it('a group whose transaction fails writes none of it: no completion, no claim', async () => {
    const good = await enqueue(db, { type: 'a', payload: 'fine', runAt: new Date(Date.now() - 2000) });
    const bad = await enqueue(db, { type: 'a', payload: 'poison', runAt: new Date(Date.now() - 1000) });
    const next = await enqueue(db, { type: 'a', payload: 'next' });
    const w1 = { workerId: 'w1', leaseMs: 10_000, types: ['a'] };
    await claimBatch(db, w1, 2);
    const cure = await poisonCompletions(db);
    const items = [good, bad].map((j) => ({ jobId: j.id, resultJson: resultJson('ok') }));
    await expect(completeManyAndClaim(db, items, w1, 2)).rejects.toThrow(/poisoned completion/);
    expect(await getJob(db, good.id)).toMatchObject({ status: 'running', lease_owner: 'w1' });
    expect(await getJob(db, next.id)).toMatchObject({ status: 'queued', attempts: 0 });
    // Alone, the good one goes through; the database is fine afterwards.
    expect(await completeJob(db, good.id, 'w1', 'ok')).toBe(true);
    await cure();
    expect((await completeManyAndClaim(db, [items[1]!], w1, 1)).completed).toEqual([true]);
  });

  it('dedupes by key, also inside a caller transaction, and enqueue rolls back with it', async () => {
    const one = await enqueue(db, { type: 'x', payload: 1, dedupeKey: 'scene:n1' });
    expect(one.deduplicated).toBe(false);
    await db.transaction(async (trx) => {
      const again = await enqueue(trx, { type: 'x', payload: 2, dedupeKey: 'scene:n1' });
      expect(again).toMatchObject({ id: one.id, payload: 1, deduplicated: true });
      await enqueue(trx, { type: 'x', payload: 3 }); // the transaction is still usable (PostgreSQL)
    });
    await expect(db.transaction(async (trx) => {
      await enqueue(trx, { type: 'x', payload: 4, dedupeKey: 'other' });
      throw new Error('rollback');
    })).rejects.toThrow('rollback');
    expect(await queueDepth(db)).toEqual({ queued: 2, running: 0 });
  });

  it('never hands one job to two claimers (concurrent claims over two handles)', async () => {
    for (let i = 0; i < 40; i++) await enqueue(db, { type: 't', payload: i });
    const other = createDb({ databaseUrl: f.databaseUrl, dataDir: f.dataDir, pgSchema: f.pgSchema });
    try {
      const claims = await Promise.all(Array.from({ length: 60 }, (_, i) =>
        claim(i % 2 ? other : db, { workerId: `w${i}`, leaseMs: 10_000, types: ['t'] })));
      const ids = claims.filter((c) => c !== null).map((c) => c!.id);
      expect(ids).toHaveLength(40);
      expect(new Set(ids).size).toBe(40);
    } finally {
      await other.destroy();
    }
  });

  it('heartbeats extend only the owner lease; expired leases are requeued or failed by the reaper', async () => {
    const j1 = await enqueue(db, { type: 't', payload: 1, maxAttempts: 2 });
    const c1 = await claim(db, { workerId: 'dead', leaseMs: 50, types: ['t'] });
    expect(c1?.id).toBe(j1.id);
    expect(await heartbeat(db, j1.id, 'someone-else', 50)).toBe(false);
    expect(await reapExpiredLeases(db)).toEqual({ requeued: 0, failed: 0 }); // not expired yet
    await new Promise((r) => setTimeout(r, 80));
    expect(await reapExpiredLeases(db)).toEqual({ requeued: 1, failed: 0 });
    expect(await getJob(db, j1.id)).toMatchObject({ status: 'queued', attempts: 1, lease_owner: null });
    expect((await getJob(db, j1.id))?.last_error).toMatch(/lease expired: worker dead/);
    expect(await heartbeat(db, j1.id, 'dead', 50)).toBe(false); // the dead worker lost it

    await claim(db, { workerId: 'dead2', leaseMs: 10, types: ['t'] });
    await new Promise((r) => setTimeout(r, 30));
    const hooked: string[] = [];
    expect(await reapExpiredLeases(db, { hookFor: () => async (job, failure) => { hooked.push(`${job.id}:${failure.reason}`); } }))
      .toEqual({ requeued: 0, failed: 1 });
    expect(hooked).toEqual([`${j1.id}:lease_expired`]);
    expect(await getJob(db, j1.id)).toMatchObject({ status: 'failed', attempts: 2 });
  });

  it('cancels queued and running jobs, but not finished ones', async () => {
    const q = await enqueue(db, { type: 't', payload: 1 });
    expect((await cancelJob(db, q.id))?.status).toBe('canceled');
    expect(await cancelJob(db, q.id)).toBeNull();
    const r = await enqueue(db, { type: 't', payload: 2 });
    await claim(db, { workerId: 'w', leaseMs: 10_000, types: ['t'] });
    expect((await cancelJob(db, r.id))?.status).toBe('canceled');
    expect(await heartbeat(db, r.id, 'w', 10_000)).toBe(false);
    expect(await completeJob(db, r.id, 'w', 'late')).toBe(false);
    expect(await getJob(db, r.id)).toMatchObject({ status: 'canceled', result: null });
  });

  it('backoff grows exponentially, is capped, and jitters within [d/2, d]', () => {
    expect(backoffMs(1, 100, 10_000, () => 1)).toBe(100);
    expect(backoffMs(3, 100, 10_000, () => 1)).toBe(400);
    expect(backoffMs(3, 100, 10_000, () => 0)).toBe(200);
    expect(backoffMs(20, 100, 10_000, () => 1)).toBe(10_000);
  });
});
