/**
 * Ledger bench (prints figures; not a test).
 *
 *   npx tsx bench/ledger.ts [--clients 8] [--seconds 2] [--rounds 5] [--db sqlite|postgres|both]
 *
 * Operations per second of the credit ledger under contention: `clients` concurrent loops, each
 * doing reserve(1) then commit of that reservation (one "pair" = two transactions), all on ONE account (every pair fights for the same balances row), and again with
 * each client on its own account. Beside it, in the same run and on the same database, a
 * baseline: the same clients running a transaction with a plain single-row counter
 * `UPDATE ... SET n = n + 1`, twice: through knex's transaction, and through the path the ledger
 * itself takes (SQLite: a synchronous BEGIN IMMEDIATE transaction on the idle connection;
 * PostgreSQL: the statement alone, a named prepared statement in its own implicit transaction).
 * The ratios say what the ledger's guarantees cost.
 *
 * PostgreSQL: DATABASE_URL or LAVENDLY_TEST_PG_URL if set, else a throwaway cluster from
 * scripts/pg.mjs (port --pg-port, default 54490). Each case runs `rounds` short times, interleaved
 * with the others so that load from elsewhere on a shared machine falls on every case alike, and
 * the median round is reported (with the spread; the load average is printed).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import knexFactory from 'knex';
import { createDb, migrate, type Db, type DbKind } from '../src/db/knex.js';
import { run, sql } from '../src/db/fast.js';
import { sqliteWork } from '../src/db/sqlite-sync.js';
import { assertInvariants, commit, grant, reserve } from '../src/ledger/index.js';

const BUMP = sql('update "bench_counter" set "n" = "n" + 1 where "id" = 1');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const CLIENTS = Number(arg('clients', '8'));
const SECONDS = Number(arg('seconds', '2'));
const ROUNDS = Number(arg('rounds', '5'));
const WHICH = arg('db', 'both');
const here = path.dirname(fileURLToPath(import.meta.url));

interface Result { ops: number; perS: number; p50: number; p99: number; min?: number; max?: number }

/** `clients` loops running `op` until `seconds` pass; ops/s and latency percentiles. */
async function load(op: (client: number) => Promise<unknown>): Promise<Result> {
  const lat: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    while (performance.now() < end) {
      const s = performance.now();
      await op(c);
      lat.push(performance.now() - s);
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? NaN;
  return { ops: lat.length, perS: lat.length / elapsed, p50: pct(0.5), p99: pct(0.99) };
}

async function openDb(kind: DbKind, pgUrl: string | null): Promise<{ db: Db; close(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-bench-'));
    const db = createDb({ databaseUrl: null, dataDir });
    await migrate(db);
    return { db, async close() { await db.destroy(); fs.rmSync(dataDir, { recursive: true, force: true }); } };
  }
  const schema = `bench_${crypto.randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: pgUrl! });
  await admin.raw(`create schema ${schema}`);
  await admin.destroy();
  const db = createDb({ databaseUrl: pgUrl, dataDir: os.tmpdir(), pgSchema: schema });
  await migrate(db);
  return { db, async close() { await db.raw(`drop schema ${schema} cascade`); await db.destroy(); } };
}

async function benchOne(kind: DbKind, pgUrl: string | null): Promise<Array<[string, Result]>> {
  const { db, close } = await openDb(kind, pgUrl);
  try {
    await db.schema.createTable('bench_counter', (t) => { t.integer('id').primary(); t.bigInteger('n').notNullable(); });
    await db('bench_counter').insert({ id: 1, n: 0 });
    const accounts = Array.from({ length: CLIENTS }, (_, i) => `acc_bench_${i}`);
    const now = new Date().toISOString();
    await db('accounts').insert(['acc_bench_shared', ...accounts].map((id) => ({ id, name: id, created_at: now })));
    for (const id of ['acc_bench_shared', ...accounts]) await grant(db, id, 1_000_000_000, 'bench');

    const cases: Array<[string, (c: number) => Promise<unknown>]> = [
      ['baseline: knex tx with 1-row UPDATE', () => db.transaction((trx) => trx('bench_counter').where({ id: 1 }).increment('n', 1))],
      // The same, through the path reserve and commit take (see the note printed at the end).
      kind === 'sqlite'
        ? ['baseline: ledger path, tx with 1-row UPDATE', () => sqliteWork(db, (q) => q.run(BUMP))]
        : ['baseline: ledger path, 1-row UPDATE', () => run(db, BUMP)],
      ['reserve+commit pair, one shared account', async () => {
        const r = await reserve(db, 'acc_bench_shared', 1);
        await commit(db, r.id);
      }],
      ['reserve+commit pair, an account per client', async (c) => {
        const r = await reserve(db, accounts[c]!, 1);
        await commit(db, r.id);
      }],
    ];
    const rounds = new Map<string, Result[]>(cases.map(([name]) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, op] of cases) rounds.get(name)!.push(await load(op));
    }
    await assertInvariants(db);
    const counter = await db('bench_counter').where({ id: 1 }).first();
    const baselineOps = [cases[0]!, cases[1]!].reduce((sum, [name]) => sum + rounds.get(name)!.reduce((n, r) => n + r.ops, 0), 0);
    if (Number(counter.n) !== baselineOps) throw new Error(`baseline counter lost updates: ${counter.n} != ${baselineOps}`);
    return cases.map(([name]) => {
      const rs = [...rounds.get(name)!].sort((a, b) => a.perS - b.perS);
      const median = rs[Math.floor(rs.length / 2)]!;
      return [name, { ...median, min: rs[0]!.perS, max: rs[rs.length - 1]!.perS }];
    });
  } finally {
    await close();
  }
}

async function main(): Promise<void> {
  const kinds: DbKind[] = WHICH === 'both' ? ['sqlite', 'postgres'] : [WHICH as DbKind];
  let pg: { url: string; stop(): void } | null = null;
  let pgUrl: string | null = process.env.DATABASE_URL || process.env.LAVENDLY_TEST_PG_URL || null;
  if (kinds.includes('postgres') && !pgUrl) {
    const mod = (await import(path.join(here, '../scripts/pg.mjs') as string)) as { startPostgres(port?: number): { url: string; stop(): void } | null };
    pg = mod.startPostgres(Number(arg('pg-port', '54490')));
    if (!pg) throw new Error('no PostgreSQL binaries found; set DATABASE_URL or run with --db sqlite');
    pgUrl = pg.url;
  }
  console.log(`ledger bench: ${CLIENTS} concurrent clients, median of ${ROUNDS} interleaved ${SECONDS}-s rounds per case; `
    + `node ${process.version}, ${os.cpus().length} cpus, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  try {
    for (const kind of kinds) {
      const results = await benchOne(kind, pgUrl);
      const knexBase = results[0]![1].perS;
      const pathBase = results[1]![1].perS;
      console.log(`\n${kind}`);
      console.log(`  ${'case'.padEnd(46)} ${'ops/s'.padStart(7)} ${'(range)'.padStart(11)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  pairs/baseline: knex, ledger path`);
      for (const [i, [name, r]] of results.entries()) {
        const ratio = i < 2 ? '' : `${(r.perS / knexBase).toFixed(2)}x, ${(r.perS / pathBase).toFixed(2)}x`;
        const range = `${r.min!.toFixed(0)}-${r.max!.toFixed(0)}`;
        console.log(`  ${name.padEnd(46)} ${r.perS.toFixed(0).padStart(7)} ${range.padStart(11)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}  ${ratio}`);
      }
    }
    console.log(`\n(a pair is two transactions: reserve = conditional UPDATE of balances + INSERT reservation + INSERT entry;`
      + ` commit = guarded UPDATE of the reservation + UPDATE of balances + INSERT entry. SQLite runs each as prepared statements`
      + ` in one synchronous BEGIN IMMEDIATE transaction, PostgreSQL as one statement with CTEs (its own implicit transaction);`
      + ` the "ledger path" baseline is a 1-row UPDATE run the same way. Invariants checked after each database.)`);
  } finally {
    pg?.stop();
  }
}

await main();
