import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/knex.js';
import { enqueue, queueDepth } from '../../src/jobs/index.js';
import {
  assertInvariants, commit, getBalance, grant, release, reserve,
  InsufficientCreditsError, ReservationNotOpenError, type Reservation,
} from '../../src/ledger/index.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { spawnWorker, type WorkerProcess } from '../helpers/job-processes.js';

/**
 * The ledger contended from separate processes: the test process plays the API, child processes
 * are job workers (test/helpers/job-worker-child.ts, handler `ledger`), all on one database (one
 * SQLite file, or one PostgreSQL schema). Each racing pair of operations is given the same
 * wall-clock start time (`at`), so the processes really hit the same rows at the same moment;
 * the tests count how often the two operations' time spans overlapped.
 */

const STEP_MS = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function drained(db: Db): Promise<void> {
  const start = Date.now();
  for (;;) {
    const d = await queueDepth(db);
    if (d.queued === 0 && d.running === 0) return;
    if (Date.now() - start > 40_000) throw new Error(`queue did not drain: ${JSON.stringify(d)}`);
    await sleep(25);
  }
}

interface Timed { won: boolean; t0: number; t1: number }
interface LedgerResult extends Timed { worker: string }

/** Runs an API-side ledger call at `at`; losing the race is an answer, not an error. */
async function apiAt(at: number, op: () => Promise<unknown>): Promise<Timed> {
  await sleep(Math.max(0, at - Date.now()));
  const t0 = Date.now();
  try {
    await op();
    return { won: true, t0, t1: Date.now() };
  } catch (err) {
    if (err instanceof InsufficientCreditsError || err instanceof ReservationNotOpenError) return { won: false, t0, t1: Date.now() };
    throw err;
  }
}

const overlap = (a: Timed, b: Timed) => a.t0 <= b.t1 && b.t0 <= a.t1;

/** What each `ledger` job answered (they must all have succeeded). */
async function jobResults(db: Db, ids: string[]): Promise<LedgerResult[]> {
  const rows = await db('jobs').whereIn('id', ids).select('id', 'status', 'result');
  expect(rows).toHaveLength(ids.length);
  const byId = new Map(rows.map((r) => [String(r.id), r]));
  return ids.map((id) => {
    expect(byId.get(id)!.status).toBe('succeeded');
    return JSON.parse(byId.get(id)!.result) as LedgerResult;
  });
}

async function statuses(db: Db, rs: Reservation[]): Promise<string[]> {
  const rows = await db('reservations').whereIn('id', rs.map((r) => r.id)).select('id', 'status');
  const m = new Map(rows.map((r) => [String(r.id), String(r.status)]));
  return rs.map((r) => m.get(r.id)!);
}

type Op = 'commit' | 'release';

describe.each(testDatabases())('ledger contended across processes on %s', (kind) => {
  let f: FreshDb;
  let db: Db;
  const procs: WorkerProcess[] = [];
  const spawn = (workerId: string, concurrency: number) => {
    const p = spawnWorker(f, { workerId, log: path.join(f.dataDir, 'jobs.log'), concurrency, pollMs: 10 });
    procs.push(p);
    return p;
  };
  beforeEach(async () => {
    f = await freshDb(kind);
    db = f.db;
    await db('accounts').insert({ id: 'acc_x', name: 'x', created_at: new Date().toISOString() });
  });
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop()));
    try {
      await assertInvariants(db);
    } finally {
      await f.close();
    }
  });

  async function reservations(n: number, amount: number): Promise<Reservation[]> {
    const out: Reservation[] = [];
    for (let i = 0; i < n; i++) out.push(await reserve(db, 'acc_x', amount));
    return out;
  }

  /** Enqueues ledger jobs (one transaction), job i due shortly before its start time at(i). */
  async function ledgerJobs(payloads: Array<Record<string, unknown> & { at: number }>): Promise<string[]> {
    const ids: string[] = [];
    await db.transaction(async (trx) => {
      for (const p of payloads) ids.push((await enqueue(trx, { type: 'ledger', payload: p, runAt: new Date(p.at - 150) })).id);
    });
    return ids;
  }

  it('API process and worker process: balance 10, 100 one-credit reserves -> exactly 10; one resolution per reservation', async () => {
    const worker = spawn('worker', 4);
    await worker.ready;
    await grant(db, 'acc_x', 10);

    // 50 rounds: in each, one reserve in the worker process and one here, at the same moment.
    let T = Date.now() + 600;
    const jobIds = await ledgerJobs(Array.from({ length: 50 }, (_, i) => ({ op: 'reserve', accountId: 'acc_x', amount: 1, at: T + i * STEP_MS })));
    const api = await Promise.all(Array.from({ length: 50 }, (_, i) => apiAt(T + i * STEP_MS, () => reserve(db, 'acc_x', 1))));
    await drained(db);
    const jobs = await jobResults(db, jobIds);
    expect(api.filter((r) => r.won).length + jobs.filter((r) => r.won).length).toBe(10);
    expect(await getBalance(db, 'acc_x')).toEqual({ balance: 10, reserved: 10, available: 0 });
    const reserveOverlaps = api.filter((a, i) => overlap(a, jobs[i]!)).length;

    // Then 32 reservations, each raced by the worker and this process with
    // commit/commit, commit/release, release/commit or release/release.
    for (const id of await db('reservations').where({ status: 'open' }).pluck('id')) await release(db, id);
    await grant(db, 'acc_x', 300);
    const rs = await reservations(32, 5);
    const pairs: Array<[Op, Op]> = [['commit', 'commit'], ['commit', 'release'], ['release', 'commit'], ['release', 'release']];
    T = Date.now() + 600;
    const at = (i: number) => T + i * STEP_MS;
    const resolveIds = await ledgerJobs(rs.map((r, i) => {
      const op = pairs[i % 4]![0];
      return { op, reservationId: r.id, amount: op === 'commit' ? 3 : undefined, at: at(i) };
    }));
    const apiRes = await Promise.all(rs.map((r, i) => {
      const op = pairs[i % 4]![1];
      return apiAt(at(i), () => (op === 'commit' ? commit(db, r.id, 3) : release(db, r.id)));
    }));
    await drained(db);
    const jobRes = await jobResults(db, resolveIds);
    const final = await statuses(db, rs);
    let charged = 0;
    for (let i = 0; i < rs.length; i++) {
      expect(Number(apiRes[i]!.won) + Number(jobRes[i]!.won), `reservation ${i} (${pairs[i % 4]!.join('/')})`).toBe(1);
      expect(final[i]).not.toBe('open');
      if (final[i] === 'committed') charged += 3;
    }
    expect(await getBalance(db, 'acc_x')).toEqual({ balance: 310 - charged, reserved: 0, available: 310 - charged });
    const resolveOverlaps = apiRes.filter((a, i) => overlap(a, jobRes[i]!)).length;
    console.info(`[${kind}] api+worker: overlapping reserve races ${reserveOverlaps}/50, resolution races ${resolveOverlaps}/32`);
    expect(reserveOverlaps + resolveOverlaps).toBeGreaterThan(0);
  });

  it('two worker processes: 100 one-credit reserves on balance 10 -> exactly 10; commit and release jobs race per reservation', async () => {
    // One job at a time per worker: the two jobs of a round are then always split between them.
    const [a, b] = [spawn('wa', 1), spawn('wb', 1)];
    await Promise.all([a.ready, b.ready]);
    await grant(db, 'acc_x', 10);
    let T = Date.now() + 600;
    const reserveIds = await ledgerJobs(Array.from({ length: 100 }, (_, i) => ({
      op: 'reserve', accountId: 'acc_x', amount: 1, at: T + Math.floor(i / 2) * STEP_MS,
    })));
    await drained(db);
    const reserves = await jobResults(db, reserveIds);
    expect(reserves.filter((r) => r.won)).toHaveLength(10);
    expect(new Set(reserves.map((r) => r.worker))).toEqual(new Set(['wa', 'wb']));
    const pairsOf = <T>(xs: T[]) => Array.from({ length: xs.length / 2 }, (_, i) => [xs[2 * i]!, xs[2 * i + 1]!] as const);
    const reserveOverlaps = pairsOf(reserves).filter(([x, y]) => x.worker !== y.worker && overlap(x, y)).length;
    for (const id of await db('reservations').where({ status: 'open' }).pluck('id')) await commit(db, id);

    await grant(db, 'acc_x', 200);
    const rs = await reservations(30, 5);
    const kinds: Array<[Op, Op]> = [['commit', 'commit'], ['commit', 'release'], ['release', 'release']];
    T = Date.now() + 600;
    const ids = await ledgerJobs(rs.flatMap((r, i) => kinds[i % 3]!.map((op) => ({
      op, reservationId: r.id, amount: op === 'commit' ? 4 : undefined, at: T + i * STEP_MS,
    }))));
    await drained(db);
    const results = pairsOf(await jobResults(db, ids));
    const final = await statuses(db, rs);
    let charged = 10;
    for (const [i, [x, y]] of results.entries()) {
      expect(Number(x.won) + Number(y.won), `reservation ${i} (${kinds[i % 3]!.join('/')})`).toBe(1);
      expect(final[i]).not.toBe('open');
      if (final[i] === 'committed') charged += 4;
    }
    expect(await getBalance(db, 'acc_x')).toEqual({ balance: 210 - charged, reserved: 0, available: 210 - charged });
    const resolveOverlaps = results.filter(([x, y]) => x.worker !== y.worker && overlap(x, y)).length;
    console.info(`[${kind}] two workers: cross-process overlapping reserve races ${reserveOverlaps}/50, resolution races ${resolveOverlaps}/30`);
    expect(reserveOverlaps + resolveOverlaps).toBeGreaterThan(0);
  });
});
