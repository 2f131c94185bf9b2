import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/knex.js';
import {
  PermanentJobError, Worker, claim, enqueue, getJob, queueDepth, type Job, type JobFailure, type WorkerOptions,
} from '../../src/jobs/index.js';
import { runWorker } from '../../src/jobs/worker-main.js';
import {
  commit, getBalance, getReservation, grant, release, reserve, ReservationNotOpenError,
} from '../../src/ledger/index.js';
import { testDatabases, type FreshDb } from '../helpers/db.js';
import { checkedDbPerTest } from '../helpers/checked-db.js';
import { poisonCompletions } from '../helpers/poisoned-completion.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const finished = (db: Db, id: string) => until(`job ${id} to finish`, async () => {
  const j = await getJob(db, id);
  return j && ['succeeded', 'failed', 'canceled'].includes(j.status) ? j : null;
});

describe.each(testDatabases())('worker on %s', (kind) => {
  let f: FreshDb;
  let db: Db;
  const workers: Worker[] = [];
  const start = (o: Omit<WorkerOptions, 'db'> & { db?: Db }) => {
    const w = new Worker({ db, pollMs: 10, leaseMs: 2000, backoff: { baseMs: 50, maxMs: 1000 }, ...o });
    workers.push(w);
    w.start();
    return w;
  };
  checkedDbPerTest(kind, {
    onFresh: (fresh) => {
      f = fresh;
      db = fresh.db;
    },
    beforeCheck: () => Promise.all(workers.splice(0).map((w) => w.stop({ abortAfterMs: 0 }))),
  });

  it('jobs survive a restart: enqueue, close the database, reopen, run', async () => {
    // One process enqueues and exits; another starts later on the same database and runs it.
    const open = () => createDb({ databaseUrl: f.databaseUrl, dataDir: f.dataDir, pgSchema: f.pgSchema });
    const before = open();
    const job = await enqueue(before, { type: 'hello', payload: { name: 'Ada' } });
    await before.destroy();
    const after = open();
    try {
      const w = start({ db: after, handlers: { hello: async (j: Job<{ name: string }>) => ({ greeting: `hi ${j.payload.name}` }) } });
      expect(await finished(after, job.id)).toMatchObject({ status: 'succeeded', attempts: 1, result: { greeting: 'hi Ada' } });
      await w.stop();
    } finally {
      await after.destroy();
    }
  });

  it('runs jobs concurrently up to its limit', async () => {
    let now = 0;
    let peak = 0;
    start({
      concurrency: 4,
      handlers: { t: async () => { now++; peak = Math.max(peak, now); await sleep(40); now--; } },
    });
    const jobs = await Promise.all(Array.from({ length: 16 }, (_, i) => enqueue(db, { type: 't', payload: i })));
    for (const j of jobs) await finished(db, j.id);
    expect(peak).toBe(4);
    expect(await queueDepth(db)).toEqual({ queued: 0, running: 0 });
  });

  // The poll period is a minute in these tests, longer than `finished` waits (10 s): only the wake-up
  // can get the job run in time.
  it('an idle worker runs a job enqueued by this process at once, not at its next poll', async () => {
    start({ pollMs: 60_000, reapMs: 60_000, handlers: { hi: async () => 'ok' } });
    await sleep(100); // idle: polled once, found nothing, asleep
    const direct = await enqueue(db, { type: 'hi', payload: null });
    expect(await finished(db, direct.id)).toMatchObject({ status: 'succeeded' });
    // Enqueued in a transaction: the wake-up waits for the commit.
    const inTrx = await db.transaction(async (trx) => {
      const j = await enqueue(trx, { type: 'hi', payload: null });
      await sleep(50);
      return j;
    });
    expect(await finished(db, inTrx.id)).toMatchObject({ status: 'succeeded' });
  });

  it.runIf(kind === 'postgres')('an idle worker on another connection is woken by NOTIFY', async () => {
    // A handle configured differently (the schema only in the URL) shares no in-process signal with `db`.
    const other = createDb({ databaseUrl: f.databaseUrl, dataDir: f.dataDir });
    try {
      let runs = 0;
      start({ db: other, pollMs: 60_000, reapMs: 60_000, handlers: { hi: async () => { runs++; } } });
      await sleep(300); // LISTEN is set up
      const job = await enqueue(db, { type: 'hi', payload: null });
      expect(await finished(db, job.id)).toMatchObject({ status: 'succeeded' });
      expect(runs).toBe(1);
    } finally {
      await Promise.all(workers.splice(0).map((w) => w.stop({ abortAfterMs: 0 })));
      await other.destroy();
    }
  });

  it.runIf(kind === 'sqlite')('an idle worker is woken by a job another connection commits (data_version)', async () => {
    let runs = 0;
    start({ pollMs: 60_000, reapMs: 60_000, handlers: { hi: async () => { runs++; } } });
    await sleep(100); // idle: polled once, found nothing, asleep
    // Another process's connection: no in-process signal reaches the worker, only the file changes.
    const other = new Database(path.join(f.dataDir, 'lavendly.sqlite'));
    try {
      other.pragma('busy_timeout = 5000');
      const now = new Date().toISOString();
      other.prepare(`insert into jobs (id, type, payload, status, attempts, max_attempts, run_at, created_at, updated_at)
        values ('job_from_elsewhere', 'hi', 'null', 'queued', 0, 5, ?, ?, ?)`).run(now, now, now);
    } finally {
      other.close();
    }
    expect(await finished(db, 'job_from_elsewhere')).toMatchObject({ status: 'succeeded' });
    expect(runs).toBe(1);
  });

  it('completions finishing together are written as a group; one that cannot be written fails alone and runs again', async () => {
    // Four jobs run at once and finish in the same turn of the event loop, so their completions
    // form one group. One completion fails in the database (a trigger), one result cannot be
    // serialised (a BigInt, on its first attempt only): the two others must still be recorded
    // once, and the two failed ones must run again after their lease runs out, not be lost.
    const cure = await poisonCompletions(db);
    const runs = new Map<string, number>();
    const errors: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    start({
      concurrency: 4,
      leaseMs: 600,
      logger: { info: () => {}, warn: () => {}, error: (o) => { errors.push(String(o.job)); } },
      handlers: {
        g: async (job: Job<string>, ctx) => {
          runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
          await gate;
          return job.payload === 'bigint' && ctx.attempt === 1 ? { n: 1n } : { ok: job.payload };
        },
      },
    });
    const jobs = await db.transaction(async (trx) => Promise.all(
      ['good1', 'poison', 'bigint', 'good2'].map((payload) => enqueue(trx, { type: 'g', payload })),
    ));
    const [j1, jPoison, jBig, j2] = jobs;
    await until('all four to start', async () => runs.size === 4);
    release();
    expect(await finished(db, j1!.id)).toMatchObject({ status: 'succeeded', attempts: 1, result: { ok: 'good1' } });
    expect(await finished(db, j2!.id)).toMatchObject({ status: 'succeeded', attempts: 1, result: { ok: 'good2' } });
    expect(await finished(db, jBig!.id)).toMatchObject({ status: 'succeeded', attempts: 2, result: { ok: 'bigint' } });
    await until('the poisoned completion to fail twice', async () => errors.filter((id) => id === jPoison!.id).length >= 2);
    expect(await getJob(db, jPoison!.id)).toMatchObject({ status: 'running' });
    await cure();
    expect(await finished(db, jPoison!.id)).toMatchObject({ status: 'succeeded', result: { ok: 'poison' } });
    expect(runs.get(j1!.id)).toBe(1);
    expect(runs.get(j2!.id)).toBe(1);
    expect(runs.get(jBig!.id)).toBe(2);
    expect(errors.filter((id) => id !== jPoison!.id && id !== jBig!.id)).toEqual([]);
  });

  it('retries transient errors with exponential backoff and jitter, then succeeds', async () => {
    const runs: number[] = [];
    start({
      backoff: { baseMs: 100, maxMs: 5000 },
      handlers: {
        flaky: async (_job, ctx) => {
          runs.push(Date.now());
          if (ctx.attempt < 3) throw new Error(`upstream 503 on attempt ${ctx.attempt}`);
          return { attempt: ctx.attempt };
        },
      },
    });
    const job = await enqueue(db, { type: 'flaky', payload: null });
    const done = await finished(db, job.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 3, result: { attempt: 3 }, last_error: null });
    expect(runs).toHaveLength(3);
    // attempt 1 -> wait in [50, 100] ms; attempt 2 -> wait in [100, 200] ms (plus polling slack)
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(45);
    expect(runs[2]! - runs[1]!).toBeGreaterThanOrEqual(95);
    expect(runs[2]! - runs[1]!).toBeLessThan(1000);
  });

  it('gives up after max_attempts and calls the failure hook once', async () => {
    const failures: Array<{ id: string; f: JobFailure }> = [];
    start({
      handlers: { broken: async () => { throw new Error('always'); } },
      onJobFailed: (job, failure) => { failures.push({ id: job.id, f: failure }); },
    });
    const job = await enqueue(db, { type: 'broken', payload: null, maxAttempts: 3 });
    expect(await finished(db, job.id)).toMatchObject({ status: 'failed', attempts: 3 });
    expect((await getJob(db, job.id))?.last_error).toMatch(/gave up after 3 attempts: Error: always/);
    await sleep(50);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ id: job.id, f: { reason: 'exhausted' } });
  });

  it('a permanent failure fails at once and its hook releases the credit reservation atomically', async () => {
    await db('accounts').insert({ id: 'acc_j', name: 'j', created_at: new Date().toISOString() });
    await grant(db, 'acc_j', 10);
    const seen: string[] = [];
    start({
      handlers: {
        render: {
          run: async (job: Job<{ reservationId: string; fail: boolean }>, ctx) => {
            if (job.payload.fail) throw new PermanentJobError('the prompt was refused');
            await commit(ctx.db, job.payload.reservationId);
          },
          onFailed: async (job: Job<{ reservationId: string }>, _failure, trx) => {
            await release(trx, job.payload.reservationId).catch((e) => { if (!(e instanceof ReservationNotOpenError)) throw e; });
          },
        },
      },
      onJobFailed: (job, failure) => { seen.push(`${job.type}:${failure.reason}`); },
    });
    const ok = await reserve(db, 'acc_j', 4);
    const bad = await reserve(db, 'acc_j', 5);
    const j1 = await enqueue(db, { type: 'render', payload: { reservationId: ok.id, fail: false } });
    const j2 = await enqueue(db, { type: 'render', payload: { reservationId: bad.id, fail: true }, maxAttempts: 5 });
    expect(await finished(db, j1.id)).toMatchObject({ status: 'succeeded' });
    expect(await finished(db, j2.id)).toMatchObject({ status: 'failed', attempts: 1, last_error: 'PermanentJobError: the prompt was refused' });
    expect((await getReservation(db, bad.id))?.status).toBe('released');
    expect(seen).toEqual(['render:permanent']);
    expect(await getBalance(db, 'acc_j')).toEqual({ balance: 6, reserved: 0, available: 6 });
  });

  it('keeps a long job leased by heartbeats, so a second worker does not run it again', async () => {
    let runs = 0;
    const handlers = { long: async () => { runs++; await sleep(700); } };
    start({ leaseMs: 200, handlers });
    start({ leaseMs: 200, handlers, workerId: 'second' });
    const job = await enqueue(db, { type: 'long', payload: null });
    expect(await finished(db, job.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(runs).toBe(1);
  });

  it('re-runs a job whose worker vanished once its lease expired', async () => {
    const job = await enqueue(db, { type: 'orphan', payload: null });
    const dead = await claim(db, { workerId: 'vanished', leaseMs: 150, types: ['orphan'] });
    expect(dead?.id).toBe(job.id);
    const t0 = Date.now();
    start({ handlers: { orphan: async (_j, ctx) => ({ by: ctx.workerId, attempt: ctx.attempt }) }, workerId: 'rescuer' });
    const done = await finished(db, job.id);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, result: { by: 'rescuer', attempt: 2 } });
  });

  it('an expired job out of attempts is failed by a worker of its own type, with its hook, never by another lane', async () => {
    // Lanes (a webhook lane beside the main one) run workers with different handlers on one
    // database. A worker that failed another type's job would skip that type's failure hook,
    // which is what releases a generation's credits and fails its scene.
    const job = await enqueue(db, { type: 'scene', payload: null, maxAttempts: 1 });
    expect((await claim(db, { workerId: 'vanished', leaseMs: 50, types: ['scene'] }))?.id).toBe(job.id);
    await sleep(80);
    const other = start({ handlers: { delivery: async () => null }, workerId: 'other-lane', pollMs: 10 });
    await sleep(150); // several of its polls and reaps
    expect(await getJob(db, job.id)).toMatchObject({ status: 'running', lease_owner: 'vanished' });
    await other.stop();
    const hooked: string[] = [];
    start({
      handlers: { scene: { run: async () => null, onFailed: async (j, failure) => { hooked.push(`${j.id}:${failure.reason}`); } } },
      workerId: 'own-lane',
    });
    expect(await finished(db, job.id)).toMatchObject({ status: 'failed' });
    expect(hooked).toEqual([`${job.id}:lease_expired`]);
  });

  it('cancels a running job: the handler sees ctx.signal abort and its result is discarded', async () => {
    let aborted = false;
    start({
      leaseMs: 300,
      handlers: {
        wait: async (_j, ctx) => {
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => { aborted = true; resolve(); }));
          return 'should be discarded';
        },
      },
    });
    const job = await enqueue(db, { type: 'wait', payload: null });
    await until('job to run', async () => (await getJob(db, job.id))?.status === 'running');
    const { cancelJob } = await import('../../src/jobs/index.js');
    expect((await cancelJob(db, job.id))?.status).toBe('canceled');
    await until('abort', async () => aborted);
    await sleep(50);
    expect(await getJob(db, job.id)).toMatchObject({ status: 'canceled', result: null });
  });

  it('stop() waits for jobs in flight; with a deadline it aborts them and requeues without using an attempt', async () => {
    const w = start({ handlers: { slow: async () => { await sleep(200); return 'done'; } } });
    const a = await enqueue(db, { type: 'slow', payload: null });
    await until('job a to run', async () => (await getJob(db, a.id))?.status === 'running');
    await w.stop();
    expect(await getJob(db, a.id)).toMatchObject({ status: 'succeeded', result: 'done' });

    const w2 = start({
      handlers: { stuck: async (_j, ctx) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))) },
    });
    const b = await enqueue(db, { type: 'stuck', payload: null });
    await until('job b to run', async () => (await getJob(db, b.id))?.status === 'running');
    await w2.stop({ abortAfterMs: 20 });
    expect(await getJob(db, b.id)).toMatchObject({ status: 'queued', attempts: 0, last_error: 'interrupted: worker stopped' });
  });

  it('runWorker opens the database from config, runs handlers and sweeps expired reservations', async () => {
    await db('accounts').insert({ id: 'acc_s', name: 's', created_at: new Date().toISOString() });
    await grant(db, 'acc_s', 5);
    const r = await reserve(db, 'acc_s', 5, { expiresInS: 0 });
    const job = await enqueue(db, { type: 'ping', payload: null });
    const running = await runWorker({
      config: { databaseUrl: f.databaseUrl, dataDir: f.dataDir },
      handlers: { ping: async () => 'pong' },
      pollMs: 10,
      sweepReservationsMs: 20,
    });
    try {
      expect(await finished(db, job.id)).toMatchObject({ status: 'succeeded', result: 'pong' });
      await until('reservation to expire', async () => (await getReservation(db, r.id))?.status === 'expired');
    } finally {
      await running.stop();
    }
    await running.done;
  });
});
