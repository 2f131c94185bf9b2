import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/accounts/accounts.js';
import { createDb, type Db } from '../../src/db/knex.js';
import { pruneBuckets, takeToken } from '../../src/accounts/rate-buckets.js';
import { LEASE_MS, leaseSize, SharedRateLimiter } from '../../src/http/rate-limit.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';

describe.each(testDatabases())('token buckets in the database (%s)', (kind) => {
  let fresh: FreshDb;
  let other: Db;
  beforeAll(async () => {
    fresh = await freshDb(kind);
    // A second pool on the same database: the other process's connections.
    other = createDb({ databaseUrl: fresh.databaseUrl, dataDir: fresh.dataDir, pgSchema: fresh.pgSchema });
  });
  afterAll(async () => {
    await other.destroy();
    await fresh.close();
  });

  it('spends the capacity, refuses, then refills at perMinute / 60 per second', async () => {
    let now = 1_000_000;
    const limiter = new SharedRateLimiter(fresh.db, 'test', 3, () => now);
    const first = await limiter.take('k1');
    expect(first).toMatchObject({ allowed: true, remaining: 2 });
    expect((await limiter.take('k1')).allowed).toBe(true);
    expect((await limiter.take('k1')).allowed).toBe(true);
    const refused = await limiter.take('k1');
    expect(refused).toMatchObject({ allowed: false, remaining: 0 });
    // 3 per minute: one token every 20 s.
    expect(refused.retryAfterS).toBe(20);
    // Another subject and another bucket name have their own rows.
    expect((await limiter.take('k2')).allowed).toBe(true);
    expect((await new SharedRateLimiter(fresh.db, 'other', 3, () => now).take('k1')).allowed).toBe(true);
    now += 19_000;
    expect((await limiter.take('k1')).allowed).toBe(false);
    now += 1_000;
    expect((await limiter.take('k1')).allowed).toBe(true);
    expect((await limiter.take('k1')).allowed).toBe(false);
    // A long pause refills to the capacity, not beyond.
    now += 3_600_000;
    const taken = [];
    for (let i = 0; i < 5; i++) taken.push((await limiter.take('k1')).allowed);
    expect(taken).toEqual([true, true, true, false, false]);
  });

  it('leases: two processes taking ahead in turn still allow exactly the capacity, and refuse only once it is spent', async () => {
    const now = 30_000_000;
    // 640 a minute: leases of 10 (leaseSize), on a clock that stands still (no refill).
    const a = new SharedRateLimiter(fresh.db, 'lease', 640, () => now);
    const b = new SharedRateLimiter(other, 'lease', 640, () => now);
    expect(leaseSize(640)).toBe(10);
    const outcomes: boolean[] = [];
    for (let i = 0; i < 800; i++) outcomes.push((await (i % 2 ? b : a).take('k')).allowed);
    expect(outcomes.filter(Boolean)).toHaveLength(640);
    expect(outcomes.slice(0, 640).every(Boolean)).toBe(true);
    const row = await fresh.db('rate_limit_buckets').where({ bucket: 'lease', subject: 'k' }).first();
    expect(Number(row.tokens)).toBeLessThan(1);
  });

  it('leases: concurrent takes in one process never let more than the capacity through', async () => {
    const now = 40_000_000;
    const limiter = new SharedRateLimiter(fresh.db, 'lease-burst', 640, () => now);
    const results = await Promise.all(Array.from({ length: 900 }, () => limiter.take('k')));
    const allowed = results.filter((r) => r.allowed).length;
    expect(allowed).toBeLessThanOrEqual(640);
    // Tokens taken by concurrent takes pool into one lease, spent by the takes that follow.
    for (let i = 0; i < 200; i++) await limiter.take('k');
    const row = await fresh.db('rate_limit_buckets').where({ bucket: 'lease-burst', subject: 'k' }).first();
    expect(Number(row.tokens)).toBeLessThan(1);
  });

  it('a lease is spent for LEASE_MS at most: after that the next take asks the database again', async () => {
    let now = 50_000_000;
    const limiter = new SharedRateLimiter(fresh.db, 'lease-expiry', 6400, () => now);
    expect((await limiter.take('k')).allowed).toBe(true); // takes a lease of leaseSize(6400) = 32
    await fresh.db('rate_limit_buckets').where({ bucket: 'lease-expiry', subject: 'k' }).update({ tokens: 0, updated_ms: now + LEASE_MS }); // emptied, and no refill by then
    expect((await limiter.take('k')).allowed).toBe(true); // from the lease: no statement
    now += LEASE_MS;
    expect((await limiter.take('k')).allowed).toBe(false); // the emptied bucket decides again
  });

  it('a lease carries the key check it was taken with for LEASE_MS: a revocation reaches requests by then', async () => {
    let now = 60_000_000;
    const { apiKey } = await createAccount(fresh.db, { name: 'Lease', scopes: [], credits: 0 }, async () => {});
    const limiter = new SharedRateLimiter(fresh.db, 'lease-key', 6400, () => now);
    expect((await limiter.take(apiKey.id, apiKey.id)).keyLive).toBe(true);
    await fresh.db('api_keys').where({ id: apiKey.id }).update({ revoked_at: new Date().toISOString() });
    expect((await limiter.take(apiKey.id, apiKey.id)).keyLive).toBe(true); // still the lease's answer
    now += LEASE_MS;
    expect((await limiter.take(apiKey.id, apiKey.id)).keyLive).toBe(false);
  });

  it('takeNow spends only a live lease, with its key check, and otherwise takes nothing', async () => {
    let now = 70_000_000;
    const { apiKey } = await createAccount(fresh.db, { name: 'Now', scopes: [], credits: 0 }, async () => {});
    const limiter = new SharedRateLimiter(fresh.db, 'lease-now', 640, () => now);
    const row = () => fresh.db('rate_limit_buckets').where({ bucket: 'lease-now', subject: apiKey.id }).first();
    expect(limiter.takeNow(apiKey.id, apiKey.id)).toBeNull(); // no lease yet: nothing taken
    expect(await row()).toBeUndefined();
    const first = await limiter.take(apiKey.id, apiKey.id); // a lease of leaseSize(640) = 10, one spent
    expect(first).toMatchObject({ allowed: true, keyLive: true, remaining: 639 });
    // The other nine come from the lease, as take would give them, with the numbers counting down.
    for (let left = 638; left >= 630; left--) expect(limiter.takeNow(apiKey.id, apiKey.id)).toMatchObject({ allowed: true, keyLive: true, remaining: left });
    expect(limiter.takeNow(apiKey.id, apiKey.id)).toBeNull(); // spent
    expect(limiter.takeNow(apiKey.id)).toBeNull(); // a lease without the key check is another lease
    // Running low started a refill in the background: it topped the lease up to 10 more tokens.
    await limiter.idle();
    expect(Number((await row()).tokens)).toBe(620);
    expect(limiter.takeNow(apiKey.id, apiKey.id)).toMatchObject({ allowed: true, keyLive: true, remaining: 629 });
    // A fresh lease, then the key is revoked: takeNow answers live until the lease expires, then null.
    await limiter.take(apiKey.id, apiKey.id);
    await fresh.db('api_keys').where({ id: apiKey.id }).update({ revoked_at: new Date().toISOString() });
    expect(limiter.takeNow(apiKey.id, apiKey.id)?.keyLive).toBe(true);
    now += LEASE_MS;
    expect(limiter.takeNow(apiKey.id, apiKey.id)).toBeNull();
    expect((await limiter.take(apiKey.id, apiKey.id)).keyLive).toBe(false);
  });

  it('concurrent takes from two pools never spend one token twice', async () => {
    const spec = { bucket: 'race', capacity: 25, perMs: 25 / 60_000 };
    const now = 5_000_000;
    const takes = Array.from({ length: 80 }, (_, i) => takeToken(i % 2 ? other : fresh.db, spec, 'shared', now));
    const results = await Promise.all(takes);
    expect(results.filter((r) => r.taken)).toHaveLength(25);
  });

  it('a clock behind the last take refills nothing and does not move the row back', async () => {
    const spec = { bucket: 'skew', capacity: 2, perMs: 2 / 60_000 };
    expect((await takeToken(fresh.db, spec, 's', 10_000_000)).taken).toBe(true);
    expect((await takeToken(fresh.db, spec, 's', 10_000_000)).taken).toBe(true);
    // A process whose clock is a minute behind: no refill, and the row keeps the later time.
    expect((await takeToken(other, spec, 's', 9_940_000)).taken).toBe(false);
    expect((await takeToken(fresh.db, spec, 's', 10_000_000)).taken).toBe(false);
    const row = await fresh.db('rate_limit_buckets').where({ bucket: 'skew', subject: 's' }).first();
    expect(Number(row.updated_ms)).toBe(10_000_000);
  });

  it('a clock stepped back by more than a full refill refills from the new time instead of standing still', async () => {
    const spec = { bucket: 'stepped', capacity: 2, perMs: 2 / 60_000 };
    expect((await takeToken(fresh.db, spec, 's', 50_000_000)).taken).toBe(true);
    expect((await takeToken(fresh.db, spec, 's', 50_000_000)).taken).toBe(true);
    // The machine's clock goes back an hour: the drained bucket refills from there (one token per
    // 30 s), where before it refilled nothing until the clock reached the row's time again.
    const back = 50_000_000 - 3_600_000;
    expect((await takeToken(fresh.db, spec, 's', back)).taken).toBe(false);
    expect((await takeToken(fresh.db, spec, 's', back + 30_000)).taken).toBe(true);
    expect((await takeToken(fresh.db, spec, 's', back + 30_000)).taken).toBe(false);
  });

  it('prunes only buckets that have refilled', async () => {
    const spec = { bucket: 'prune', capacity: 60, perMs: 60 / 60_000 };
    await takeToken(fresh.db, spec, 'old', 20_000_000);
    await takeToken(fresh.db, spec, 'recent', 20_000_500);
    // 'old' lacked one token at 20_000_000 and refills in 1 s; 'recent' refills at 20_001_500.
    await pruneBuckets(fresh.db, 20_001_000);
    const left = await fresh.db('rate_limit_buckets').where({ bucket: 'prune' }).pluck('subject');
    expect(left).toEqual(['recent']);
  });
});
