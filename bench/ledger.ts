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
 * itself took before group commit (SQLite: a synchronous BEGIN IMMEDIATE transaction of its own on
 * the idle connection; PostgreSQL: the statement alone, a named prepared statement in its own
 * implicit transaction). On SQLite a third baseline runs the UPDATE through the same group commit
 * as the ledger (src/db/sqlite-group.ts), so that what grouping buys is not mistaken for a cheaper
 * ledger: with `--clients 1` nothing can be grouped. The ratios say what the ledger's guarantees cost.
 *
 * PostgreSQL: DATABASE_URL or LAVENDLY_TEST_PG_URL if set, else a throwaway cluster from
 * scripts/pg.mjs (on --pg-port, default a free port, so two runs at once do not collide). Each
 * case runs `rounds` short times, interleaved with the others so that load from elsewhere on a
 * shared machine falls on every case alike, and the median round is reported (with the spread; the load average is printed). `cpu us` is this
 * process's CPU per operation in that round: all of it on SQLite, the client's share on PostgreSQL;
 * on a shared machine it moves less with the load than ops/s does.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import knexFactory from 'knex';
import { createDb, migrate, type Db, type DbKind } from '../src/db/knex.js';
import { run, sql } from '../src/db/fast.js';
import { sqliteGroupWork } from '../src/db/sqlite-group.js';
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

/** cpuUs: this process's CPU (user + system) per operation; on SQLite that is all of it. */
interface Result { ops: number; perS: number; p50: number; p99: number; cpuUs: number; min?: number; max?: number }

/** `clients` loops running `op` until `seconds` pass; ops/s and latency percentiles. */
async function load(op: (client: number) => Promise<unknown>): Promise<Result> {
  const lat: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    while (performance.now() < end) {
      const s = performance.now();
      await op(c);
      lat.push(performance.now() - s);
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? NaN;
  return { ops: lat.length, perS: lat.length / elapsed, p50: pct(0.5), p99: pct(0.99), cpuUs: (cpu.user + cpu.system) / lat.length };
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

/** A case's name, its median round, and whether it is a baseline. */
type Row = [string, Result, boolean];

async function benchOne(kind: DbKind, pgUrl: string | null): Promise<Row[]> {
  const { db, close } = await openDb(kind, pgUrl);
  try {
    await db.schema.createTable('bench_counter', (t) => { t.integer('id').primary(); t.bigInteger('n').notNullable(); });
    await db('bench_counter').insert({ id: 1, n: 0 });
    const accounts = Array.from({ length: CLIENTS }, (_, i) => `acc_bench_${i}`);
    const now = new Date().toISOString();
    await db('accounts').insert(['acc_bench_shared', ...accounts].map((id) => ({ id, name: id, created_at: now })));
    for (const id of ['acc_bench_shared', ...accounts]) await grant(db, id, 1_000_000_000, 'bench');

    const baselines: Array<[string, (c: number) => Promise<unknown>]> = [
      ['baseline: knex tx with 1-row UPDATE', () => db.transaction((trx) => trx('bench_counter').where({ id: 1 }).increment('n', 1))],
      // The same, through the path reserve and commit took before group commit (see the note at the end).
      kind === 'sqlite'
        ? ['baseline: sync tx with 1-row UPDATE', () => sqliteWork(db, (q) => q.run(BUMP))]
        : ['baseline: ledger path, 1-row UPDATE', () => run(db, BUMP)],
    ];
    if (kind === 'sqlite') baselines.push(['baseline: grouped tx with 1-row UPDATE', () => sqliteGroupWork(db, (q) => q.run(BUMP))]);
    const cases: Array<[string, (c: number) => Promise<unknown>]> = [
      ...baselines,
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
    const baselineOps = baselines.reduce((sum, [name]) => sum + rounds.get(name)!.reduce((n, r) => n + r.ops, 0), 0);
    if (Number(counter.n) !== baselineOps) throw new Error(`baseline counter lost updates: ${counter.n} != ${baselineOps}`);
    return cases.map(([name]): Row => {
      const rs = [...rounds.get(name)!].sort((a, b) => a.perS - b.perS);
      const median = rs[Math.floor(rs.length / 2)]!;
      return [name, { ...median, min: rs[0]!.perS, max: rs[rs.length - 1]!.perS }, baselines.some(([b]) => b === name)];
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
    const port = arg('pg-port', '');
    pg = mod.startPostgres(port ? Number(port) : undefined);
    if (!pg) throw new Error('no PostgreSQL binaries found; set DATABASE_URL or run with --db sqlite');
    pgUrl = pg.url;
  }
  console.log(`ledger bench: ${CLIENTS} concurrent clients, median of ${ROUNDS} interleaved ${SECONDS}-s rounds per case; `
    + `node ${process.version}, ${os.cpus().length} cpus, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  try {
    for (const kind of kinds) {
      const results = await benchOne(kind, pgUrl);
      const bases = results.filter(([, , isBase]) => isBase);
      console.log(`\n${kind}`);
      console.log(`  ${'case'.padEnd(46)} ${'ops/s'.padStart(7)} ${'(range)'.padStart(11)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'cpu us'.padStart(7)}  pairs/baseline: ${bases.map(([n]) => n.split(' ')[1]).join(', ')}`);
      for (const [name, r, isBase] of results) {
        const ratio = isBase ? '' : bases.map(([, b]) => `${(r.perS / b.perS).toFixed(2)}x`).join(', ');
        const range = `${r.min!.toFixed(0)}-${r.max!.toFixed(0)}`;
        console.log(`  ${name.padEnd(46)} ${r.perS.toFixed(0).padStart(7)} ${range.padStart(11)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${r.cpuUs.toFixed(0).padStart(7)}  ${ratio}`);
      }
    }
    console.log(`\n(${CLIENTS} clients; a pair is two transactions: reserve = conditional UPDATE of balances + INSERT reservation + INSERT entry;`
      + ` commit = guarded UPDATE of the reservation + UPDATE of balances + INSERT entry. SQLite runs each as prepared statements`
      + ` in a synchronous BEGIN IMMEDIATE transaction shared with the moves started in the same turn (group commit), PostgreSQL as one statement with CTEs (its own implicit transaction);`
      + ` the "sync" baseline is a 1-row UPDATE in a synchronous transaction of its own, the "grouped" one the same through group commit. Invariants checked after each database.)`);
  } finally {
    pg?.stop();
  }
}

await main();
