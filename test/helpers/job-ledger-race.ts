import path from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import type { Db, DbKind } from '../../src/db/knex.js';
import { enqueue, queueDepth } from '../../src/jobs/index.js';
import {
  assertInvariants, reserve, InsufficientCreditsError, ReservationNotOpenError, type Reservation,
} from '../../src/ledger/index.js';
import { freshDb, type FreshDb } from './db.js';
import { spawnWorker, type WorkerProcess } from './job-processes.js';

/**
 * Shared by the cross-process ledger tests: the test process plays the API, child processes are
 * job workers (job-worker-child.ts, handler `ledger`), all on one database (one SQLite file, or
 * one PostgreSQL schema). Each racing pair of operations is given the same wall-clock start time
 * (`at`), so the processes really hit the same rows at the same moment; the tests count how
 * often the two operations' time spans overlapped.
 */

export const STEP_MS = 40;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export type Op = 'commit' | 'release';

export interface Timed { won: boolean; t0: number; t1: number }
export interface LedgerResult extends Timed { worker: string }

export const overlap = (a: Timed, b: Timed) => a.t0 <= b.t1 && b.t0 <= a.t1;

export async function drained(db: Db): Promise<void> {
  const start = Date.now();
  for (;;) {
    const d = await queueDepth(db);
    if (d.queued === 0 && d.running === 0) return;
    if (Date.now() - start > 40_000) throw new Error(`queue did not drain: ${JSON.stringify(d)}`);
    await sleep(25);
  }
}

/** Runs an API-side ledger call at `at`; losing the race is an answer, not an error. */
export async function apiAt(at: number, op: () => Promise<unknown>): Promise<Timed> {
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

/** What each `ledger` job answered, in the order of `ids` (they must all have succeeded). */
export async function jobResults(db: Db, ids: string[]): Promise<LedgerResult[]> {
  const rows = await db('jobs').whereIn('id', ids).select('id', 'status', 'result');
  expect(rows).toHaveLength(ids.length);
  const byId = new Map(rows.map((r) => [String(r.id), r]));
  return ids.map((id) => {
    expect(byId.get(id)!.status).toBe('succeeded');
    return JSON.parse(byId.get(id)!.result) as LedgerResult;
  });
}

export async function statuses(db: Db, rs: Reservation[]): Promise<string[]> {
  const rows = await db('reservations').whereIn('id', rs.map((r) => r.id)).select('id', 'status');
  const m = new Map(rows.map((r) => [String(r.id), String(r.status)]));
  return rs.map((r) => m.get(r.id)!);
}

export interface RaceEnv {
  readonly db: Db;
  readonly account: string;
  spawn(workerId: string, concurrency: number): WorkerProcess;
  /** Enqueues ledger jobs in one transaction, each due shortly before its start time `at`. */
  ledgerJobs(payloads: Array<Record<string, unknown> & { at: number }>): Promise<string[]>;
  reservations(n: number, amount: number): Promise<Reservation[]>;
}

/** A fresh database per test with account `acc_x`; stops the workers and checks the money
 *  invariants after each test. */
export function raceEnv(kind: DbKind): RaceEnv {
  let f: FreshDb;
  const procs: WorkerProcess[] = [];
  beforeEach(async () => {
    f = await freshDb(kind);
    await f.db('accounts').insert({ id: 'acc_x', name: 'x', created_at: new Date().toISOString() });
  });
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop()));
    try {
      await assertInvariants(f.db);
    } finally {
      await f.close();
    }
  });
  return {
    get db() { return f.db; },
    account: 'acc_x',
    spawn(workerId, concurrency) {
      const p = spawnWorker(f, { workerId, log: path.join(f.dataDir, 'jobs.log'), concurrency, pollMs: 10 });
      procs.push(p);
      return p;
    },
    async ledgerJobs(payloads) {
      const ids: string[] = [];
      await f.db.transaction(async (trx) => {
        for (const p of payloads) ids.push((await enqueue(trx, { type: 'ledger', payload: p, runAt: new Date(p.at - 150) })).id);
      });
      return ids;
    },
    async reservations(n, amount) {
      const out: Reservation[] = [];
      for (let i = 0; i < n; i++) out.push(await reserve(f.db, 'acc_x', amount));
      return out;
    },
  };
}
