/**
 * Job queue bench (prints figures; not a test).
 *
 *   npx tsx bench/queue.ts [--db sqlite|postgres|both] [--jobs 4000] [--claimers 4] [--wakes 20] [--idle-seconds 10]
 *                          [--skip-wake] [--rounds 1] [--before /path/to/other/checkout]
 *
 * 1. Wake latency: a worker sits idle (poll period 500 ms, `serve`'s default), a job is enqueued,
 *    and the time from the enqueue call to the handler starting is measured, `wakes` times at
 *    random moments. Cases: the worker in the enqueuing process (what `serve` runs) and in a
 *    separate process (`lavendly worker`): PostgreSQL wakes it by LISTEN/NOTIFY, SQLite by watching
 *    the -wal file and reading data_version (src/jobs/wake.ts). The CPU that separate worker uses while idle over
 *    `idle-seconds` (default 10) is printed too.
 * 2. Throughput (bench/queue-throughput.ts): `jobs` due jobs, drained by `claimers` loops or Workers
 *    on one handle; jobs per second of wall time and CPU per job. The loops: claim one and complete
 *    it (two commits a job: the figure issue 14's target was first measured on), claim 8 and
 *    complete each, claim 8 and record the 8 completions as one group with the next claim (what a
 *    Worker does when its slots finish together). Then Workers with the default settings and with
 *    concurrency 8. With `--before DIR` every case also runs on that checkout's src/ (its own
 *    migrations), alternating which goes first, `rounds` times; medians and ratios at the end.
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
import { enqueue, Worker, type Job } from '../src/jobs/index.js';
import { workerSettingsFromEnv } from '../src/jobs/worker-settings.js';
import { cases, loadImpl, showRate, type QueueImpl, type Rate } from './queue-throughput.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const JOBS = Number(arg('jobs', '4000'));
const ROUNDS = Number(arg('rounds', '1'));
const BEFORE = arg('before', '');
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
  // What sitting idle costs (SQLite: the -wal watch and a data_version read every 250 ms; PostgreSQL: LISTEN).
  await sleep(300);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(IDLE_MS);
  const cpu = process.cpuUsage(cpu0);
  console.log(`idle ${(cpu.user + cpu.system) / 1000} ${performance.now() - t0}`);
  process.stdin.resume();
  process.stdin.on('end', () => { void worker.stop().then(() => db.destroy()).then(() => process.exit(0)); });
}

type Opener = Pick<QueueImpl, 'createDb' | 'migrate'>;

async function open(kind: DbKind, pgUrl: string | null, impl: Opener = { createDb, migrate }): Promise<{ db: Db; target: Target; close(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-bench-'));
    const target = { databaseUrl: null, dataDir };
    const db = impl.createDb(target);
    await impl.migrate(db);
    return { db, target, async close() { await db.destroy(); fs.rmSync(dataDir, { recursive: true, force: true }); } };
  }
  const schema = `bench_${crypto.randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: pgUrl! });
  await admin.raw(`create schema ${schema}`);
  await admin.destroy();
  const target = { databaseUrl: pgUrl, dataDir: os.tmpdir(), pgSchema: schema };
  const db = impl.createDb(target);
  await impl.migrate(db);
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
    if (!process.argv.includes('--skip-wake')) {
      for (const kind of kinds) {
        const { db, target, close } = await open(kind, pgUrl);
        try {
          console.log(`\n${kind}`);
          console.log(`  wake, worker in this process (idle poll ${POLL_MS} ms): ${summary(await wakeInProcess(db))}`);
          const other = await wakeOtherProcess(db, target);
          console.log(`  wake, worker in another process (${kind === 'postgres' ? 'LISTEN/NOTIFY' : '-wal watch, then data_version'}): ${summary(other.lat)}`);
          console.log(`  that worker, idle: ${other.idleCpu}`);
        } finally {
          await close();
        }
      }
    }
    await throughputRounds(kinds, pgUrl);
  } finally {
    pg?.stop();
  }
}

/**
 * Every case on this tree (and on `--before DIR`, alternating which goes first), `rounds` times;
 * then the median of each, and this tree's CPU per job as a share of the other's.
 */
async function throughputRounds(kinds: DbKind[], pgUrl: string | null): Promise<void> {
  const impls = [await loadImpl(path.join(here, '..'), 'this')];
  if (BEFORE) impls.push(await loadImpl(path.resolve(BEFORE), 'before'));
  const settings = workerSettingsFromEnv({});
  const list = cases(settings.concurrency);
  const s = { jobs: JOBS, claimers: CLAIMERS, leaseMs: settings.leaseMs, pollMs: settings.pollMs };
  const results = new Map<string, Rate[]>();
  console.log(`\nthroughput: ${JOBS} due jobs, ${CLAIMERS} claimers or Workers on one handle, no-op handler${BEFORE ? `; before = ${BEFORE}` : ''}`);
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? impls : [...impls].reverse();
    for (const kind of kinds) {
      for (const impl of order) {
        const { db, close } = await open(kind, pgUrl, impl);
        try {
          for (const c of list) {
            const running = c.run(impl, db, s);
            if (!running) continue;
            const r = await running;
            const key = `${kind}\u0000${c.name}\u0000${impl.label}`;
            results.set(key, [...(results.get(key) ?? []), r]);
            console.log(`  round ${round} ${kind} ${impl.label.padEnd(6)} ${c.name.padEnd(60)} ${showRate(r)}`);
          }
        } finally {
          await close();
        }
      }
    }
  }
  const median = (xs: number[]) => {
    const o = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(o.length / 2);
    return o.length % 2 ? o[mid]! : (o[mid - 1]! + o[mid]!) / 2;
  };
  console.log(`\nmedians of ${ROUNDS} round(s), load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  for (const kind of kinds) {
    for (const c of list) {
      const mine = results.get(`${kind}\u0000${c.name}\u0000this`);
      if (!mine) continue;
      const m: Rate = { perS: median(mine.map((r) => r.perS)), cpuUsPerJob: median(mine.map((r) => r.cpuUsPerJob)) };
      const theirs = results.get(`${kind}\u0000${c.name}\u0000before`);
      const vs = theirs
        ? ` | before ${showRate({ perS: median(theirs.map((r) => r.perS)), cpuUsPerJob: median(theirs.map((r) => r.cpuUsPerJob)) })}; CPU/job ${(m.cpuUsPerJob / median(theirs.map((r) => r.cpuUsPerJob))).toFixed(2)}x, wall ${(m.perS / median(theirs.map((r) => r.perS))).toFixed(2)}x`
        : '';
      console.log(`  ${kind} ${c.name.padEnd(60)} ${showRate(m)}${vs}`);
    }
  }
}

await main();
