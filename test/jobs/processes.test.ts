import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/knex.js';
import { enqueue, getJob, queueDepth } from '../../src/jobs/index.js';
import { getBalance, getReservation, grant, reserve } from '../../src/ledger/index.js';
import { testDatabases, type FreshDb } from '../helpers/db.js';
import { checkedDbPerTest } from '../helpers/checked-db.js';
import { readJobLog, spawnWorker, type WorkerProcess } from '../helpers/job-processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe.each(testDatabases())('worker processes on %s', (kind) => {
  let f: FreshDb;
  let db: Db;
  let log: string;
  const procs: WorkerProcess[] = [];
  const spawn = (o: Omit<Parameters<typeof spawnWorker>[1], 'log'>) => {
    const p = spawnWorker(f, { log, ...o });
    procs.push(p);
    return p;
  };
  checkedDbPerTest(kind, {
    onFresh: (fresh) => {
      f = fresh;
      db = fresh.db;
      log = path.join(fresh.dataDir, 'jobs.log');
    },
    beforeCheck: () => Promise.all(procs.splice(0).map((p) => p.kill9())),
  });

  it('two worker processes run 200 jobs, each exactly once', async () => {
    const a = spawn({ workerId: 'wa', concurrency: 4 });
    const b = spawn({ workerId: 'wb', concurrency: 4 });
    await Promise.all([a.ready, b.ready]);
    const ids: string[] = [];
    await db.transaction(async (trx) => {
      for (let i = 0; i < 200; i++) ids.push((await enqueue(trx, { type: 'record', payload: { sleepMs: 2 } })).id);
    });
    await until('the queue to drain', async () => {
      const d = await queueDepth(db);
      return d.queued === 0 && d.running === 0;
    });
    expect(await Promise.all([a.stop(), b.stop()])).toEqual([0, 0]);

    const starts = readJobLog(log).filter((l) => l[0] === 'start');
    const perJob = new Map<string, number>();
    for (const l of starts) perJob.set(l[1]!, (perJob.get(l[1]!) ?? 0) + 1);
    expect(perJob.size).toBe(200);
    expect([...perJob.values()].every((n) => n === 1)).toBe(true);
    const byWorker = new Map<string, number>();
    for (const l of starts) byWorker.set(l[2]!, (byWorker.get(l[2]!) ?? 0) + 1);
    expect(byWorker.get('wa')! > 0 && byWorker.get('wb')! > 0).toBe(true);
    const rows = await db('jobs').whereIn('id', ids).select('status', 'attempts');
    expect(rows.every((r) => r.status === 'succeeded' && Number(r.attempts) === 1)).toBe(true);
  });

  it('two worker processes claiming in batches of 8 and grouping their completions run 400 jobs, each exactly once', async () => {
    // Both wake on the one commit that queues all 400 and race from then on: every completion
    // group also claims for the slots it frees. 5 ms per job keeps either from draining the queue
    // alone (at least 250 ms) before the other has joined.
    const a = spawn({ workerId: 'wa', concurrency: 8 });
    const b = spawn({ workerId: 'wb', concurrency: 8 });
    await Promise.all([a.ready, b.ready]);
    const ids: string[] = [];
    await db.transaction(async (trx) => {
      for (let i = 0; i < 400; i++) ids.push((await enqueue(trx, { type: 'record', payload: { sleepMs: 5 } })).id);
    });
    await until('the queue to drain', async () => {
      const d = await queueDepth(db);
      return d.queued === 0 && d.running === 0;
    }, 60_000);
    expect(await Promise.all([a.stop(), b.stop()])).toEqual([0, 0]);

    const starts = readJobLog(log).filter((l) => l[0] === 'start');
    expect(starts).toHaveLength(400);
    expect(new Set(starts.map((l) => l[1])).size).toBe(400);
    expect(new Set(starts.map((l) => l[2]))).toEqual(new Set(['wa', 'wb']));
    const rows = await db('jobs').whereIn('id', ids).select('status', 'attempts', 'result');
    expect(rows.every((r) => r.status === 'succeeded' && Number(r.attempts) === 1)).toBe(true);
  });

  it('kill -9 mid-job: after the lease expires another worker re-runs it; a paid job is charged once or released', async () => {
    await db('accounts').insert({ id: 'acc_k', name: 'k', created_at: new Date().toISOString() });
    await grant(db, 'acc_k', 10);
    const r1 = await reserve(db, 'acc_k', 3, { reason: 'scene 1' });
    const r2 = await reserve(db, 'acc_k', 4, { reason: 'scene 2' });
    // A plain job, a paid job with a retry left, a paid job with none: all hang on attempt 1.
    const plain = await enqueue(db, { type: 'record', payload: { sleepMs: 60_000, sleepOnAttempt: 1 } });
    const paid = await enqueue(db, { type: 'hold', payload: { reservationId: r1.id, sleepMs: 60_000, sleepOnAttempt: 1 }, maxAttempts: 2 });
    const last = await enqueue(db, { type: 'hold', payload: { reservationId: r2.id, sleepMs: 60_000, sleepOnAttempt: 1 }, maxAttempts: 1 });

    const victim = spawn({ workerId: 'victim', concurrency: 3, leaseMs: 600 });
    await until('all three jobs to start in the victim', () => readJobLog(log).filter((l) => l[0] === 'start').length === 3);
    expect(await victim.kill9()).toBe('SIGKILL');
    expect((await getJob(db, plain.id))?.status).toBe('running'); // nobody knows yet

    const rescuer = spawn({ workerId: 'rescuer', concurrency: 3, leaseMs: 600 });
    await rescuer.ready;
    const done = await until('the jobs to settle', async () => {
      const js = await Promise.all([plain.id, paid.id, last.id].map((id) => getJob(db, id)));
      return js.every((j) => j && ['succeeded', 'failed'].includes(j.status)) ? js : null;
    });
    expect(done.map((j) => [j!.status, j!.attempts])).toEqual([['succeeded', 2], ['succeeded', 2], ['failed', 1]]);
    expect(done[2]!.last_error).toMatch(/lease expired: worker victim/);

    const lines = readJobLog(log).map((l) => l.join(' '));
    expect(lines).toContain(`start ${plain.id} victim 1`);
    expect(lines).toContain(`done ${plain.id} rescuer 2`);
    expect(lines).toContain(`failed ${last.id} rescuer lease_expired`);
    expect(lines.filter((l) => l.startsWith(`done ${paid.id}`))).toEqual([`done ${paid.id} rescuer 2`]);

    expect((await getReservation(db, r1.id))).toMatchObject({ status: 'committed', committed: 3 });
    expect((await getReservation(db, r2.id))?.status).toBe('released');
    expect(await getBalance(db, 'acc_k')).toEqual({ balance: 7, reserved: 0, available: 7 });
    expect(await rescuer.stop()).toBe(0);
  });
});
