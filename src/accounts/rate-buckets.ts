import type { Db } from '../db/knex.js';
import { dbKind } from '../db/knex.js';
import { first, sql } from '../db/fast.js';

/**
 * Token buckets kept in the database (table rate_limit_buckets, migration 012), so every server
 * process takes from the same bucket. A take is one statement: an upsert that refills the row by
 * the time since its last take, takes a token if a whole one is there, and returns what it did.
 * The row lock the upsert holds makes concurrent takes from any process queue up on the row, so
 * no two of them can spend the same token.
 *
 * A take for an API key's bucket can also report whether the key is still live, from the same
 * statement: every request then sees a revocation made by any process at once, at no extra
 * round trip (src/http/auth.ts).
 *
 * A take may ask for several tokens at once (a lease, spent by the process without another
 * statement: src/http/shared-rate-limiter.ts). It gets them only while the bucket holds at least
 * twice a full lease (`lease`, by default what it asks for), else one, so leases never starve the
 * bucket: once it runs low every take is one token. A lease topped up before it runs out asks for
 * less than a full lease, and still needs the bucket to hold two full ones.
 *
 * Time comes from the calling process's clock. A clock behind the row's time refills nothing
 * (elapsed time is clamped at 0) and the row's time does not move backwards, so skewed clocks can
 * at worst refill early by the skew, never grant a second bucket. A row ahead by more than a full
 * refill is a clock stepped back, not skew (every process reads one clock: the machine's on SQLite,
 * the database server's on PostgreSQL): its time is moved back to now, so the bucket refills from
 * now on instead of standing still until the clock catches up (an hour's step held a drained key
 * at 429 for the hour).
 */

export interface BucketSpec {
  /** Which limit: 'api_key', 'auth_failure' ... (at most 32 characters). */
  bucket: string;
  /** Most tokens the bucket holds (and holds when new). */
  capacity: number;
  /** Tokens added per millisecond. */
  perMs: number;
}

export interface TakeResult {
  /** Whether a token was taken. */
  taken: boolean;
  /** How many tokens were taken: `want` while the bucket holds twice that, else 1 or 0. */
  count: number;
  /** Tokens left after the take (fractional). */
  tokens: number;
  /** With `liveKeyId`: whether that key exists and is not revoked, as of this statement. */
  keyLive?: boolean;
}

/**
 * The refilled token count, in each dialect: `b` is the stored row, `excluded` this take, whose
 * `taken` column carries the tokens it wants. The grant's `?` is twice the full lease.
 */
function refilled(min: string, max: string): string {
  return `${min}(excluded.capacity, b.tokens + ${max}(0, excluded.updated_ms - b.updated_ms) * excluded.per_ms)`;
}

function upsertSql(kind: 'sqlite' | 'postgres', withKey: boolean): string {
  const r = kind === 'postgres' ? refilled('least', 'greatest') : refilled('min', 'max');
  const newest = kind === 'postgres' ? 'greatest' : 'max';
  const grant = `case when ${r} >= ? then excluded.taken when ${r} >= 1 then 1 else 0 end`;
  return `insert into rate_limit_buckets as b (bucket, subject, capacity, per_ms, tokens, taken, updated_ms)
values (?, ?, ?, ?, ?, ?, ?)
on conflict (bucket, subject) do update set
  tokens = ${r} - ${grant},
  taken = ${grant},
  capacity = excluded.capacity,
  per_ms = excluded.per_ms,
  updated_ms = case when (b.updated_ms - excluded.updated_ms) * excluded.per_ms > excluded.capacity
    then excluded.updated_ms else ${newest}(b.updated_ms, excluded.updated_ms) end
returning tokens, taken${withKey ? ', (select count(*) from api_keys where id = ? and revoked_at is null) as key_live' : ''}`;
}

// Written-out statements (src/db/fast.ts): every request runs one, so knex's builder is skipped.
const SQL = {
  sqlite: [sql(upsertSql('sqlite', false)), sql(upsertSql('sqlite', true))],
  postgres: [sql(upsertSql('postgres', false)), sql(upsertSql('postgres', true))],
};

/**
 * Takes tokens from `subject`'s bucket: `want` of them while it holds at least twice `lease` (a
 * full lease, at least `want`), else one (or none); one statement, safe under any concurrency.
 * With `liveKeyId` the same statement also answers whether that API key is live.
 */
export async function takeToken(db: Db, spec: BucketSpec, subject: string, nowMs: number, liveKeyId?: string, want = 1, lease = want): Promise<TakeResult> {
  const kind = dbKind(db);
  want = Math.max(1, Math.floor(want));
  lease = Math.max(want, Math.floor(lease));
  // A new bucket starts full, minus what this take gets. On a conflict the row's `taken` value
  // (excluded.taken) is read as the number wanted, so a new row stores `want`, which it grants
  // whole: a bucket holds at least one token, and at least twice a full lease.
  if (spec.capacity < 1) throw new Error('rate limit: a bucket must hold at least one token');
  if (lease > 1 && spec.capacity < 2 * lease) throw new Error('rate limit: a lease may hold at most half the capacity');
  // The grant's threshold appears twice in the statement (the new tokens, and `taken`).
  const bindings: unknown[] = [spec.bucket, subject, spec.capacity, spec.perMs, spec.capacity - want, want, Math.floor(nowMs), 2 * lease, 2 * lease];
  if (liveKeyId !== undefined) bindings.push(liveKeyId);
  const row = await first<{ tokens: number | string; taken: number | string; key_live?: number | string }>(
    db, SQL[kind][liveKeyId === undefined ? 0 : 1]!, bindings);
  if (!row) throw new Error('rate limit: the bucket upsert returned no row');
  const count = Number(row.taken);
  const out: TakeResult = { taken: count >= 1, count, tokens: Number(row.tokens) };
  if (liveKeyId !== undefined) out.keyLive = Number(row.key_live) > 0;
  return out;
}

/**
 * Deletes buckets that have refilled completely by `nowMs`: a full bucket and a missing one take
 * the same way. Returns how many went.
 */
export async function pruneBuckets(db: Db, nowMs: number): Promise<number> {
  return db('rate_limit_buckets')
    .whereRaw('updated_ms + (capacity - tokens) / per_ms <= ?', [Math.floor(nowMs)])
    .del();
}
