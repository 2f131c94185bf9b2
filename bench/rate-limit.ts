/**
 * Rate-limit bench (prints figures; not a test).
 *
 *   npx tsx bench/rate-limit.ts [--clients 8] [--seconds 1] [--rounds 3] [--db sqlite|postgres|both]
 *     [--keys 100] [--before DIR]
 *
 * What one request pays for its rate limit: the shared limiter (an upsert on rate_limit_buckets,
 * src/accounts/rate-buckets.ts, for each lease it takes) against the in-memory limiter every
 * process used before, in the same run. `clients` concurrent loops take tokens from `keys` keys
 * whose limit is never reached, with the check that the key is live that every API request makes
 * in the same statement, as authentication does: `takeNow` when the lease answers, else `take`.
 * Between two takes a loop lets the event loop turn once, as a server does between requests (the
 * turn is not counted in the latency). Reported per take: wall time per take at that concurrency
 * (1 / throughput), the latency p50/p99, this process's CPU (user + system; on PostgreSQL the
 * server's CPU is not included), and the share of takes that waited for a statement (found no
 * live lease). `--before DIR` adds the shared limiter of another checkout (e.g. a worktree of
 * main) on the same databases. Rounds are interleaved; the median is shown.
 *
 * PostgreSQL: DATABASE_URL or LAVENDLY_TEST_PG_URL if set, else a throwaway cluster from
 * scripts/pg.mjs (port --pg-port, default 54491).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import knexFactory from 'knex';
import { createDb, migrate, type Db, type DbKind } from '../src/db/knex.js';
import { MemoryRateLimiter, SharedRateLimiter, type RateLimiter } from '../src/http/rate-limit.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const CLIENTS = Number(arg('clients', '8'));
const SECONDS = Number(arg('seconds', '1'));
const ROUNDS = Number(arg('rounds', '3'));
const WHICH = arg('db', 'both');
const BEFORE = arg('before', '');
const here = path.dirname(fileURLToPath(import.meta.url));
const KEYS = Array.from({ length: Number(arg('keys', '100')) }, (_, i) => `key_bench_${i}`);

interface Result { takes: number; wallUs: number; cpuUs: number; p50Us: number; p99Us: number; waited: number }

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function load(limiter: RateLimiter): Promise<Result> {
  const lat: number[] = [];
  let refused = 0;
  let waited = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    let i = c;
    while (performance.now() < end) {
      const s = performance.now();
      const key = KEYS[i++ % KEYS.length]!;
      let r = limiter.takeNow?.(key, key);
      if (!r) {
        waited++;
        r = await limiter.take(key, key);
      }
      lat.push(performance.now() - s);
      if (!r.allowed) refused++;
      await turn();
    }
  }));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (refused) throw new Error(`${refused} takes were refused: the bench must measure allowed takes`);
  lat.sort((a, b) => a - b);
  const pct = (p: number) => (lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? NaN) * 1000;
  return {
    takes: lat.length, wallUs: (wallMs * 1000) / lat.length, cpuUs: (cpu.user + cpu.system) / lat.length,
    p50Us: pct(0.5), p99Us: pct(0.99), waited: waited / lat.length,
  };
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const kinds: DbKind[] = WHICH === 'both' ? ['sqlite', 'postgres'] : [WHICH as DbKind];
  let pg: { url: string; stop(): void } | null = null;
  let pgUrl: string | null = process.env.DATABASE_URL || process.env.LAVENDLY_TEST_PG_URL || null;
  if (kinds.includes('postgres') && !pgUrl) {
    const mod = (await import(path.join(here, '../scripts/pg.mjs') as string)) as { startPostgres(port?: number): { url: string; stop(): void } | null };
    pg = mod.startPostgres(Number(arg('pg-port', '54491')));
    if (!pg) throw new Error('no PostgreSQL binaries found; set DATABASE_URL or run with --db sqlite');
    pgUrl = pg.url;
  }
  console.log(`rate limit: ${CLIENTS} clients, ${SECONDS} s x ${ROUNDS} rounds; node ${process.version}, `
    + `${os.cpus().length} cpus, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  try {
    const dbs = await Promise.all(kinds.map((k) => openDb(k, pgUrl)));
    // A limit no bench run reaches: every take finds a token.
    const huge = 1e12;
    const Before = BEFORE
      ? ((await import(pathToFileURL(path.resolve(BEFORE, 'src/http/rate-limit.ts')).href)) as typeof import('../src/http/rate-limit.js')).SharedRateLimiter
      : null;
    const cases: Array<[string, RateLimiter]> = [
      ['in-memory (per process)', new MemoryRateLimiter(huge)],
      ...kinds.flatMap((k, i): Array<[string, RateLimiter]> => [
        [`shared, ${k}`, new SharedRateLimiter(dbs[i]!.db, 'bench', huge)],
        // Its own bucket name: the two limiters' leases never mix.
        ...(Before ? [[`shared, ${k}, --before`, new Before(dbs[i]!.db, 'bench-before', huge)] as [string, RateLimiter]] : []),
      ]),
    ];
    const rounds = new Map<string, Result[]>(cases.map(([name]) => [name, []]));
    for (const [, limiter] of cases) await load(limiter); // warm-up (JIT, prepared statements, pool)
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, limiter] of cases) rounds.get(name)!.push(await load(limiter));
    }
    const limiterOf = (name: string) => cases.find(([n]) => n === name)![1];
    const base = median(rounds.get(cases[0]![0])!.map((x) => x.cpuUs));
    console.log('limiter                             takes/round  wall us/take  p50 us  p99 us  p99/p50  waited  CPU us/take');
    for (const [name] of cases) {
      const rs = rounds.get(name)!;
      const cpu = median(rs.map((x) => x.cpuUs));
      console.log(`${name.padEnd(36)}${String(Math.round(median(rs.map((x) => x.takes)))).padStart(11)}`
        + `${median(rs.map((x) => x.wallUs)).toFixed(1).padStart(14)}${median(rs.map((x) => x.p50Us)).toFixed(1).padStart(8)}`
        + `${median(rs.map((x) => x.p99Us)).toFixed(1).padStart(8)}${median(rs.map((x) => x.p99Us / x.p50Us)).toFixed(1).padStart(8)}x`
        + `${(limiterOf(name).takeNow ? `${(median(rs.map((x) => x.waited)) * 100).toFixed(2)}%` : '-').padStart(8)}${cpu.toFixed(1).padStart(13)}`
        + (name === cases[0]![0] ? '' : `  (+${(cpu - base).toFixed(1)} us CPU per request)`));
    }
    // Background refills end before the databases close.
    await Promise.all(cases.map(([, limiter]) => limiter.close?.()));
    await Promise.all(dbs.map((d) => d.close()));
  } finally {
    pg?.stop();
  }
}

await main();
