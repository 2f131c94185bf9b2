/**
 * Job queue bench (prints figures; not a test).
 *
 *   npx tsx bench/queue.ts [--db sqlite|postgres|both] [--jobs 4000] [--claimers 4] [--wakes 20] [--idle-seconds 10] [--skip-wake]
 *
 * 1. Wake latency: a worker sits idle (poll period 500 ms, `serve`'s default), a job is enqueued,
 *    and the time from the enqueue call to the handler starting is measured, `wakes` times at
 *    random moments. Cases: the worker in the enqueuing process (what `serve` runs) and in a
 *    separate process (`lavendly worker`): PostgreSQL wakes it by LISTEN/NOTIFY, SQLite by its
 *    data_version check (src/jobs/wake.ts). The CPU that separate worker uses while idle over
 *    `idle-seconds` (default 10) is printed too.
 * 2. Throughput: `jobs` due jobs, then `claimers` concurrent loops each claiming and completing
 *    (claim one at a time, and in batches of 8) until the queue is empty; claim+complete per second.
 *
 * PostgreSQL: DATABASE_URL or LAVENDLY_TEST_PG_URL if set, else a throwaway cluster from
 * scripts/pg.mjs. The machine's load average is printed: absolute figures on a shared machine move.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import knexFactory from 'knex';
import { createDb, migrate, type Db, type DbKind } from '../src/db/knex.js';
import { claim, claimBatch, completeJob, enqueue, Worker, type Job } from '../src/jobs/index.js';
import { workerSettingsFromEnv } from '../src/jobs/worker-settings.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const JOBS = Number(arg('jobs', '4000'));
const CLAIMERS = Number(arg('claimers', '4'));
const WAKES = Number(arg('wakes', '20'));
const POLL_MS = 500;
const IDLE_MS = Number(arg('idle-seconds', '10')) * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => performance.timeOrigin + performance.now();

interface Target { databaseUrl: string | null; dataDir: string; pgSchema?: string }

/** Child mode: a worker that prints each job's wake latency (its payload carries the enqueue time). */
async function child(target: Target): Promise<void> {
  const db = createDb(target);
  const worker = new Worker({
    db, pollMs: POLL_MS,
    handlers: { ping: async (job: Job<{ t: number }>) => { console.log(`latency ${nowMs() - job.payload.t}`); } },
  });
  worker.start();
  console.log('ready');
  // What sitting idle costs (SQLite: the data_version check every few ms; PostgreSQL: LISTEN).
  await sleep(300);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(IDLE_MS);
  const cpu = process.cpuUsage(cpu0);
  console.log(`idle ${(cpu.user + cpu.system) / 1000} ${performance.now() - t0}`);
  process.stdin.resume();
  process.stdin.on('end', () => { void worker.stop().then(() => db.destroy()).then(() => process.exit(0)); });
}

async function open(kind: DbKind, pgUrl: string | null): Promise<{ db: Db; target: Target; close(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-bench-'));
    const target = { databaseUrl: null, dataDir };
    const db = createDb(target);
    await migrate(db);
    return { db, target, async close() { await db.destroy(); fs.rmSync(dataDir, { recursive: true, force: true }); } };
  }
  const schema = `bench_${crypto.randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: pgUrl! });
  await admin.raw(`create schema ${schema}`);
  await admin.destroy();
  const target = { databaseUrl: pgUrl, dataDir: os.tmpdir(), pgSchema: schema };
  const db = createDb(target);
  await migrate(db);
  return { db, target, async close() { await db.raw(`drop schema ${schema} cascade`); await db.destroy(); } };
}

function summary(lat: number[]): string {
  const s = [...lat].sort((a, b) => a - b);
  const pct = (p: number) => s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
  return `p50 ${pct(0.5).toFixed(1)} ms, p90 ${pct(0.9).toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms (n=${s.length})`;
}

/** Enqueues `WAKES` jobs one at a time at random moments; `seen` resolves with each latency. */
async function wakes(db: Db, next: () => Promise<number>): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < WAKES; i++) {
    await sleep(50 + Math.random() * POLL_MS);
    const waiting = next();
    await enqueue(db, { type: 'ping', payload: { t: nowMs() } });
    lat.push(await waiting);
  }
  return lat;
}

async function wakeInProcess(db: Db): Promise<number[]> {
  let resolve: ((ms: number) => void) | null = null;
  const worker = new Worker({
    db, pollMs: POLL_MS,
    handlers: { ping: async (job: Job<{ t: number }>) => { resolve?.(nowMs() - job.payload.t); } },
  });
  worker.start();
  await sleep(200);
  try {
    return await wakes(db, () => new Promise((r) => { resolve = r; }));
  } finally {
    await worker.stop();
  }
}

async function wakeOtherProcess(db: Db, target: Target): Promise<{ lat: number[]; idleCpu: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', JSON.stringify(target), '--idle-seconds', String(IDLE_MS / 1000)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: proc.stdout! });
  const queue: string[] = [];
  let waiter: ((line: string) => void) | null = null;
  lines.on('line', (l) => { if (waiter) { const w = waiter; waiter = null; w(l); } else queue.push(l); });
  const line = () => new Promise<string>((r) => { const q = queue.shift(); if (q !== undefined) r(q); else waiter = r; });
  try {
    if ((await line()) !== 'ready') throw new Error('worker child did not start');
    const [, cpuMs, wallMs] = (await line()).split(' ').map(Number);
    const idleCpu = `${cpuMs!.toFixed(0)} ms CPU in ${(wallMs! / 1000).toFixed(1)} s idle (${((100 * cpuMs!) / wallMs!).toFixed(2)}% of a core)`;
    return { lat: await wakes(db, async () => Number((await line()).split(' ')[1])), idleCpu };
  } finally {
    proc.stdin!.end();
    await new Promise((r) => proc.once('exit', r));
  }
}

/** Jobs per second of wall time, and the process's CPU per job (user + system, which includes the
 *  WAL writes): on a shared machine the CPU figure moves far less than the wall-clock one. */
interface Rate { perS: number; cpuUsPerJob: number }
const rate = (r: Rate) => `${r.perS.toFixed(0)}/s, ${r.cpuUsPerJob.toFixed(0)} us CPU per job (${(1e6 / r.cpuUsPerJob).toFixed(0)}/s CPU-bound)`;
function measure(): () => Rate {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  return () => {
    const cpu = process.cpuUsage(cpu0);
    return { perS: JOBS / ((performance.now() - t0) / 1000), cpuUsPerJob: (cpu.user + cpu.system) / JOBS };
  };
}

async function throughput(db: Db, batch: number): Promise<Rate> {
  const rows = Array.from({ length: JOBS }, () => ({ type: 'bench', payload: { n: 1 } }));
  for (const r of rows) await enqueue(db, r);
  const stop = measure();
  let done = 0;
  await Promise.all(Array.from({ length: CLAIMERS }, async (_, c) => {
    const workerId = `bench-${c}`;
    for (;;) {
      const jobs = batch === 1
        ? [await claim(db, { workerId, leaseMs: 30_000 })].filter((j): j is Job => j !== null)
        : await claimBatch(db, { workerId, leaseMs: 30_000 }, batch);
      if (jobs.length === 0) return;
      for (const j of jobs) if (await completeJob(db, j.id, workerId, null)) done++;
    }
  }));
  const r = stop();
  if (done !== JOBS) throw new Error(`completed ${done} of ${JOBS}`);
  return r;
}

/**
 * The real thing: `claimers` Workers (as `lavendly worker` processes run them, here on one handle)
 * with the default settings (src/jobs/worker-settings.ts) and a handler that returns at once.
 * A worker claims as many jobs as it has free slots, so its claim batch is its concurrency.
 */
async function workerThroughput(db: Db): Promise<Rate> {
  for (let i = 0; i < JOBS; i++) await enqueue(db, { type: 'bench', payload: { n: 1 } });
  const settings = workerSettingsFromEnv({});
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => { finished = r; });
  const stop = measure();
  const workers = Array.from({ length: CLAIMERS }, () => new Worker({
    db, concurrency: settings.concurrency, leaseMs: settings.leaseMs, pollMs: settings.pollMs,
    handlers: { bench: async () => { if (++done === JOBS) finished(); return null; } },
  }));
  for (const w of workers) w.start();
  await all;
  // Every job's completion is written once the workers have stopped.
  await Promise.all(workers.map((w) => w.stop()));
  const r = stop();
  const left = await db('jobs').where({ type: 'bench' }).whereNot({ status: 'succeeded' }).count({ n: '*' });
  if (Number(left[0]!.n) !== 0) throw new Error(`${String(left[0]!.n)} bench jobs not succeeded`);
  await db('jobs').where({ type: 'bench' }).delete();
  return r;
}

async function main(): Promise<void> {
  const childAt = process.argv.indexOf('--child');
  if (childAt >= 0) return child(JSON.parse(process.argv[childAt + 1]!) as Target);
  const which = arg('db', 'both');
  const kinds: DbKind[] = which === 'both' ? ['sqlite', 'postgres'] : [which as DbKind];
  let pg: { url: string; stop(): void } | null = null;
  let pgUrl: string | null = process.env.DATABASE_URL || process.env.LAVENDLY_TEST_PG_URL || null;
  if (kinds.includes('postgres') && !pgUrl) {
    const mod = (await import(path.join(here, '../scripts/pg.mjs') as string)) as { startPostgres(port?: number): { url: string; stop(): void } | null };
    pg = mod.startPostgres();
    if (!pg) throw new Error('no PostgreSQL binaries found; set DATABASE_URL or run with --db sqlite');
    pgUrl = pg.url;
  }
  console.log(`queue bench: node ${process.version}, ${os.cpus().length} cpus, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  try {
    for (const kind of kinds) {
      const { db, target, close } = await open(kind, pgUrl);
      try {
        console.log(`\n${kind}`);
        if (!process.argv.includes('--skip-wake')) {
        console.log(`  wake, worker in this process (idle poll ${POLL_MS} ms): ${summary(await wakeInProcess(db))}`);
        const other = await wakeOtherProcess(db, target);
        console.log(`  wake, worker in another process (${kind === 'postgres' ? 'LISTEN/NOTIFY' : 'data_version check'}): ${summary(other.lat)}`);
        console.log(`  that worker, idle: ${other.idleCpu}`);
        }
        for (const batch of [1, 8]) {
          console.log(`  ${JOBS} jobs, ${CLAIMERS} claimers, claim batch ${batch}: claim+complete ${rate(await throughput(db, batch))}`);
        }
        const settings = workerSettingsFromEnv({});
        console.log(`  ${JOBS} jobs, ${CLAIMERS} Workers with the default settings (concurrency ${settings.concurrency}), no-op handler: ${rate(await workerThroughput(db))}`);
      } finally {
        await close();
      }
    }
  } finally {
    pg?.stop();
  }
}

await main();
