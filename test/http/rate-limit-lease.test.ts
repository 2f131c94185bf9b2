// The rate limiter's leases refilled ahead (src/http/shared-rate-limiter.ts): takes spend a lease while one
// background statement tops it up, so a steady stream of takes never waits on the database, and
// the limit, the RateLimit numbers and the revocation bound stay what they were.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/accounts/accounts.js';
import { createDb, type Db } from '../../src/db/knex.js';
import { grownLeaseSize, LEASE_MS, leaseSize, SharedRateLimiter } from '../../src/http/rate-limit.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { startTestServer } from '../helpers/server.js';

/** The rate-limit statements a pool runs, seen through knex's query events. */
interface Statements { started: number; done: number; failed: number; mostAtOnce: number }

function watch(db: Db): Statements {
  const seen: Statements = { started: 0, done: 0, failed: 0, mostAtOnce: 0 };
  const ours = (q: { sql?: string }) => /rate_limit_buckets/.test(q.sql ?? '') && /^\s*insert/i.test(q.sql ?? '');
  db.on('query', (q) => {
    if (!ours(q)) return;
    seen.started++;
    seen.mostAtOnce = Math.max(seen.mostAtOnce, seen.started - seen.done - seen.failed);
  });
  db.on('query-response', (_r, q) => { if (ours(q)) seen.done++; });
  db.on('query-error', (_e, q) => { if (ours(q)) seen.failed++; });
  return seen;
}

/** A macrotask later: any unhandled rejection of the work before has been reported by then. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe.each(testDatabases())('rate-limit leases refilled ahead (%s)', (kind) => {
  let fresh: FreshDb;
  /** A second pool on the same database, the limiter's own: its statements are the ones counted. */
  let pool: Db;
  let statements: Statements;
  const rejections: unknown[] = [];
  const onRejection = (err: unknown) => { rejections.push(err); };

  beforeAll(async () => {
    fresh = await freshDb(kind);
    process.on('unhandledRejection', onRejection);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await fresh.close();
  });
  beforeEach(() => {
    pool = createDb({ databaseUrl: fresh.databaseUrl, dataDir: fresh.dataDir, pgSchema: fresh.pgSchema });
    statements = watch(pool);
    rejections.length = 0;
  });
  afterEach(async () => {
    await pool.destroy();
    await turn();
    expect(rejections).toEqual([]);
  });

  const liveKey = async (name: string) => (await createAccount(fresh.db, { name, scopes: [], credits: 0 }, async () => {})).apiKey.id;

  it('steady spending never waits on the database once a lease is live: refills land in the background', async () => {
    let now = 1_000_000;
    const key = await liveKey('Steady');
    // 6,400 a minute: leases of 32, growing to 100 for a key that spends them fast.
    const limiter = new SharedRateLimiter(pool, 'steady', 6400, () => now);
    const awaited: number[] = [];
    for (let i = 0; i < 600; i++) {
      // Two takes a millisecond, then one every 2 ms, then one every 10 ms: leases run low at
      // first, and at the end they get old long before they run low.
      now += i < 400 ? 0.5 : i < 500 ? 2 : 10;
      // As authentication takes a token: without a promise when the lease answers, else `take`.
      const before = statements.started;
      const r = limiter.takeNow(key, key) ?? (await limiter.take(key, key));
      awaited.push(statements.started - before);
      expect(r).toMatchObject({ allowed: true, keyLive: true });
      // Takes come further apart than a statement lasts: every fourth one, what is in flight lands.
      if (i % 4 === 3) await limiter.idle();
    }
    // Only the first take, which found no lease, ran a statement of its own.
    expect(awaited[0]).toBe(1);
    expect(awaited.slice(1).filter((n) => n > 0)).toEqual([]);
    // The other 599 tokens came from refills in the background, one at a time.
    expect([leaseSize(6400), grownLeaseSize(6400)]).toEqual([32, 100]);
    expect(statements.started).toBeGreaterThanOrEqual(1 + Math.ceil(599 / 100));
    expect(statements.mostAtOnce).toBe(1);
    expect(statements.failed).toBe(0);
  });

  it('takes that find the lease empty wait for the one statement in flight instead of running their own', async () => {
    const now = 2_000_000;
    const limiter = new SharedRateLimiter(pool, 'burst', 6400, () => now);
    // No lease yet: twenty takes at once share one statement.
    const cold = await Promise.all(Array.from({ length: 20 }, () => limiter.take('k')));
    expect(cold.every((r) => r.allowed)).toBe(true);
    expect(statements.started).toBe(1);
    // The rest of the lease spent without a pause: passing the low-water mark starts one refill, however many spend after it.
    let spent = 0;
    while (limiter.takeNow('k')) spent++;
    expect(spent).toBe(32 - 20);
    const burst = await Promise.all(Array.from({ length: 20 }, () => limiter.take('k')));
    expect(burst.every((r) => r.allowed)).toBe(true);
    expect(statements.started).toBe(2);
    expect(statements.mostAtOnce).toBe(1);
    // RateLimit-Remaining counts the bucket and the lease: 6,400 less the 52 taken (the clock stands still).
    expect(limiter.takeNow('k')).toMatchObject({ allowed: true, remaining: 6400 - 53 });
  });

  // Which takes meet a refill in flight differs with where the pauses fall: three patterns.
  it.each([3, 5, 7])('two limiters on one database, refilling ahead and growing their leases, let exactly the capacity through (pause every %i takes)', async (every) => {
    const now = 3_000_000 + every;
    const bucket = `exact-${every}`;
    // 12,800 a minute: leases of 32 growing to 200. The clock stands still, so nothing refills the bucket.
    const a = new SharedRateLimiter(fresh.db, bucket, 12_800, () => now);
    const b = new SharedRateLimiter(pool, bucket, 12_800, () => now);
    expect(grownLeaseSize(12_800)).toBe(200);
    const outcomes: boolean[] = [];
    for (let i = 0; i < 13_500; i++) {
      const limiter = i % 2 ? b : a;
      outcomes.push((limiter.takeNow('k') ?? (await limiter.take('k'))).allowed);
      if (i % every === every - 1) await Promise.all([a.idle(), b.idle()]);
    }
    expect(outcomes.filter(Boolean)).toHaveLength(12_800);
    expect(outcomes.slice(0, 12_800).every(Boolean)).toBe(true);
    const row = await fresh.db('rate_limit_buckets').where({ bucket, subject: 'k' }).first();
    expect(Number(row.tokens)).toBeLessThan(1);
    // Most tokens came through the leases: far fewer statements than takes.
    expect(statements.started).toBeLessThan(13_500 / 10);
  });

  it('a lease never holds more than the grown size: refills top it up, they do not add a lease to it', async () => {
    const now = 3_500_000;
    const limiter = new SharedRateLimiter(pool, 'bounded', 12_800, () => now);
    const most = grownLeaseSize(12_800);
    const bucketTokens = async () => Number((await fresh.db('rate_limit_buckets').where({ bucket: 'bounded', subject: 'k' }).first()).tokens);
    let allowed = 0;
    let held = 0;
    for (let i = 0; i < 6000; i++) {
      if ((limiter.takeNow('k') ?? (await limiter.take('k'))).allowed) allowed++;
      if (i % 3 === 2) {
        await limiter.idle();
        // The clock stands still: what the bucket lost and no take got sits in the lease.
        held = Math.max(held, 12_800 - (await bucketTokens()) - allowed);
      }
    }
    expect(allowed).toBe(6000);
    expect(held).toBe(most);
  });

  it('two limiters spending at once never let more than the capacity through, and all of it once their leases are spent', async () => {
    const now = 4_000_000;
    const a = new SharedRateLimiter(fresh.db, 'race', 12_800, () => now);
    const b = new SharedRateLimiter(pool, 'race', 12_800, () => now);
    const spendUntilRefused = async (limiter: SharedRateLimiter) => {
      let allowed = 0;
      for (let i = 0; ; i++) {
        const r = limiter.takeNow('k') ?? (await limiter.take('k'));
        if (!r.allowed) return allowed;
        allowed++;
        if (i % 3 === 0) await turn();
      }
    };
    const [fromA, fromB] = await Promise.all([spendUntilRefused(a), spendUntilRefused(b)]);
    expect(fromA + fromB).toBeLessThanOrEqual(12_800);
    // A refusal can come early only while the other limiter still holds tokens: at most its lease.
    expect(fromA + fromB).toBeGreaterThanOrEqual(12_800 - grownLeaseSize(12_800));
    await Promise.all([a.idle(), b.idle()]);
    let rest = 0;
    for (const limiter of [a, b]) while (limiter.takeNow('k')?.allowed) rest++;
    expect(fromA + fromB + rest).toBe(12_800);
  });

  it('a revocation reaches takes within LEASE_MS while refills keep renewing the lease', async () => {
    let now = 5_000_000;
    const key = await liveKey('Revoked');
    const limiter = new SharedRateLimiter(pool, 'revoke', 6400, () => now);
    let revokedAt = Infinity;
    const seen: Array<{ at: number; live: boolean | undefined }> = [];
    for (let i = 0; i < 600; i++) {
      now += 1;
      if (i === 250) {
        await fresh.db('api_keys').where({ id: key }).update({ revoked_at: new Date().toISOString() });
        revokedAt = now;
      }
      const r = limiter.takeNow(key, key) ?? (await limiter.take(key, key));
      seen.push({ at: now, live: r.keyLive });
      if (i % 4 === 3) await limiter.idle();
    }
    expect(seen.filter((s) => s.at < revokedAt).every((s) => s.live === true)).toBe(true);
    const late = seen.filter((s) => s.at >= revokedAt + LEASE_MS);
    expect(late.length).toBeGreaterThan(100);
    expect(late.every((s) => s.live === false)).toBe(true);
  });

  it('a refill that fails on a live database leaves no unhandled rejection; once the lease is spent a take asks on its own', async () => {
    const now = 6_000_000;
    const limiter = new SharedRateLimiter(pool, 'fails', 6400, () => now);
    expect((await limiter.take('k')).allowed).toBe(true);
    await fresh.db.raw('alter table rate_limit_buckets rename to rate_limit_buckets_away');
    try {
      let spent = 1;
      while (limiter.takeNow('k')) spent++;
      expect(spent).toBe(32); // the lease, spent without waiting
      await limiter.idle();
      expect(statements.failed).toBe(1); // the refill ran, and failed
      // The lease is empty and no refill is coming: the take runs the normal path and gets its error.
      await expect(limiter.take('k')).rejects.toThrow(/rate_limit_buckets/);
    } finally {
      await fresh.db.raw('alter table rate_limit_buckets_away rename to rate_limit_buckets');
    }
    expect(await limiter.take('k')).toMatchObject({ allowed: true });
    expect(statements.started).toBe(4);
  });

  it('a refill against a closed pool fails quietly, and close() waits for the one in flight and starts no more', async () => {
    const now = 7_000_000;
    const limiter = new SharedRateLimiter(pool, 'closing', 6400, () => now);
    await limiter.take('k');
    for (let i = 0; i < 24; i++) limiter.takeNow('k'); // 7 left: below the low-water mark, a refill is due
    while (statements.started < 2) await turn();
    await limiter.close();
    expect(statements.done + statements.failed).toBe(statements.started); // nothing still running
    while (limiter.takeNow('k')); // spent, with no refill behind it
    await limiter.idle();
    expect(statements.started).toBe(2);
    // A refill due just before close, not yet started, never starts.
    const closing = new SharedRateLimiter(pool, 'closing', 6400, () => now);
    await closing.take('i');
    for (let i = 0; i < 24; i++) closing.takeNow('i');
    await closing.close();
    expect(statements.started).toBe(3);
    // A pool closed under a limiter that still refills: its refill fails, and nothing is left unhandled.
    const other = createDb({ databaseUrl: fresh.databaseUrl, dataDir: fresh.dataDir, pgSchema: fresh.pgSchema });
    const otherStatements = watch(other);
    const orphan = new SharedRateLimiter(other, 'closing', 6400, () => now);
    await orphan.take('j');
    await other.destroy();
    while (orphan.takeNow('j'));
    await orphan.idle();
    expect(otherStatements.failed).toBe(1);
    await expect(orphan.take('j')).rejects.toThrow();
  });

  it('a stopping server closes its rate limiters before the database: no refill starts after', async () => {
    const server = await startTestServer(kind, { fresh, config: { rateLimitPerMinute: 6400 } });
    const limiter = server.app.runtime.limiter as SharedRateLimiter;
    const { keyId } = await server.account();
    const serverStatements = watch(fresh.db);
    await server.close();
    // A take after close still runs its own statement (a lease of 32) ...
    expect(await limiter.take(keyId, keyId)).toMatchObject({ allowed: true, keyLive: true });
    let spent = 1;
    while (limiter.takeNow(keyId, keyId)) spent++; // ... and passing the low-water mark starts no refill
    await limiter.idle();
    expect(spent).toBe(32);
    expect(serverStatements.started).toBe(1);
  });
});
