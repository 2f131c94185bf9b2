/**
 * The throughput half of bench/queue.ts, written against the modules of one checkout, so the same
 * cases can run on this tree and on another (`--before DIR`) in the same run, interleaved.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';

type AnyFn = (...args: any[]) => any;
/** What the cases use of a checkout's src/ (loaded by path: an older tree may lack the newest). */
export interface QueueImpl {
  label: string;
  createDb: (target: { databaseUrl: string | null; dataDir: string; pgSchema?: string }) => Knex;
  migrate: (db: Knex) => Promise<unknown>;
  enqueue: AnyFn;
  claim: AnyFn;
  claimBatch: AnyFn;
  completeJob: AnyFn;
  Worker: new (options: any) => { start(): void; stop(): Promise<void> };
  /** Absent before group commit existed. */
  completeManyAndClaim?: AnyFn;
  resultJson?: (v: unknown) => string;
}

export async function loadImpl(root: string, label: string): Promise<QueueImpl> {
  const load = (rel: string) => import(pathToFileURL(path.join(root, rel)).href) as Promise<Record<string, any>>;
  const [knex, jobs, queue] = await Promise.all([load('src/db/knex.ts'), load('src/jobs/index.ts'), load('src/jobs/queue.ts')]);
  return {
    label,
    createDb: knex.createDb, migrate: knex.migrate,
    enqueue: jobs.enqueue, claim: jobs.claim, claimBatch: jobs.claimBatch, completeJob: jobs.completeJob, Worker: jobs.Worker,
    completeManyAndClaim: queue.completeManyAndClaim, resultJson: queue.resultJson,
  };
}

/** Jobs per second of wall time, and the process's CPU per job (user + system, which includes the
 *  WAL writes): on a shared machine the CPU figure moves far less than the wall-clock one. */
export interface Rate { perS: number; cpuUsPerJob: number }

export const showRate = (r: Rate) => `${r.perS.toFixed(0).padStart(6)}/s wall, ${r.cpuUsPerJob.toFixed(0).padStart(4)} us CPU/job (${(1e6 / r.cpuUsPerJob).toFixed(0)}/s CPU-bound)`;

function measure(jobs: number): () => Rate {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  return () => {
    const cpu = process.cpuUsage(cpu0);
    return { perS: jobs / ((performance.now() - t0) / 1000), cpuUsPerJob: (cpu.user + cpu.system) / jobs };
  };
}

export interface CaseSettings { jobs: number; claimers: number; leaseMs: number; pollMs: number }

export interface Case {
  name: string;
  /** Null when this checkout cannot run the case. */
  run(impl: QueueImpl, db: Knex, s: CaseSettings): Promise<Rate> | null;
}

async function fill(impl: QueueImpl, db: Knex, n: number): Promise<void> {
  await db.transaction(async (trx) => {
    for (let i = 0; i < n; i++) await impl.enqueue(trx, { type: 'bench', payload: { n: i } });
  });
}

async function settled(db: Knex, jobs: number): Promise<void> {
  const [row] = await db('jobs').where({ type: 'bench', status: 'succeeded' }).count({ n: '*' });
  // Not fatal: a completion that failed (the log says why) leaves its job to the lease reaper.
  if (Number(row!.n) !== jobs) console.log(`  !! only ${String(row!.n)} of ${jobs} bench jobs succeeded`);
  await db('jobs').where({ type: 'bench' }).delete();
}

/** `claimers` loops on one handle, each claiming `batch` jobs and completing them one by one. */
function loop(batch: number): Case['run'] {
  return async (impl, db, s) => {
    await fill(impl, db, s.jobs);
    const stop = measure(s.jobs);
    await Promise.all(Array.from({ length: s.claimers }, async (_, c) => {
      const workerId = `bench-${c}`;
      for (;;) {
        const jobs = batch === 1
          ? [await impl.claim(db, { workerId, leaseMs: s.leaseMs })].filter((j) => j !== null)
          : await impl.claimBatch(db, { workerId, leaseMs: s.leaseMs }, batch);
        if (jobs.length === 0) return;
        for (const j of jobs) await impl.completeJob(db, j.id, workerId, null);
      }
    }));
    const r = stop();
    await settled(db, s.jobs);
    return r;
  };
}

/** Loops that record each batch's completions as one group with the claim of the next batch. */
function grouped(batch: number): Case['run'] {
  return (impl, db, s) => {
    const many = impl.completeManyAndClaim;
    const json = impl.resultJson;
    if (!many || !json) return null;
    return (async () => {
      await fill(impl, db, s.jobs);
      const stop = measure(s.jobs);
      await Promise.all(Array.from({ length: s.claimers }, async (_, c) => {
        const options = { workerId: `bench-${c}`, leaseMs: s.leaseMs };
        let jobs: Array<{ id: string }> = await impl.claimBatch(db, options, batch);
        while (jobs.length > 0) {
          const done = jobs.map((j) => ({ jobId: j.id, resultJson: json(null) }));
          jobs = (await many(db, done, options, batch)).jobs;
        }
      }));
      const r = stop();
      await settled(db, s.jobs);
      return r;
    })();
  };
}

/** `claimers` Workers (as `lavendly worker` processes run them, here on one handle) with a
 *  handler that returns at once. A worker claims as many jobs as it has free slots. */
function workers(concurrency: number): Case['run'] {
  return async (impl, db, s) => {
    await fill(impl, db, s.jobs);
    let done = 0;
    let finished!: () => void;
    const all = new Promise<void>((r) => { finished = r; });
    const stop = measure(s.jobs);
    const ws = Array.from({ length: s.claimers }, () => new impl.Worker({
      db, concurrency, leaseMs: s.leaseMs, pollMs: s.pollMs,
      handlers: { bench: async () => { if (++done === s.jobs) finished(); return null; } },
    }));
    for (const w of ws) w.start();
    await all;
    // Every job's completion is written once the workers have stopped.
    await Promise.all(ws.map((w) => w.stop()));
    const r = stop();
    await settled(db, s.jobs);
    return r;
  };
}

export function cases(defaultConcurrency: number): Case[] {
  return [
    { name: 'loop: claim 1, complete 1 (two commits a job)', run: loop(1) },
    { name: 'loop: claim 8, complete each', run: loop(8) },
    { name: 'loop: claim 8, complete 8 as a group with the next claim', run: grouped(8) },
    { name: `Workers, default settings (concurrency ${defaultConcurrency})`, run: workers(defaultConcurrency) },
    { name: 'Workers, concurrency 8', run: workers(8) },
  ];
}
