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
 * Time comes from the calling process's clock. A clock behind the row's time refills nothing
 * (elapsed time is clamped at 0) and the row's time never moves backwards, so skewed clocks can
 * at worst refill early by the skew, never grant a second bucket.
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
  /** Tokens left after the take (fractional). */
  tokens: number;
  /** With `liveKeyId`: whether that key exists and is not revoked, as of this statement. */
  keyLive?: boolean;
}

/** The refilled token count, in each dialect: `b` is the stored row, `excluded` this take. */
function refilled(min: string, max: string): string {
  return `${min}(excluded.capacity, b.tokens + ${max}(0, excluded.updated_ms - b.updated_ms) * excluded.per_ms)`;
}

function upsertSql(kind: 'sqlite' | 'postgres', withKey: boolean): string {
  const r = kind === 'postgres' ? refilled('least', 'greatest') : refilled('min', 'max');
  const newest = kind === 'postgres' ? 'greatest' : 'max';
  return `insert into rate_limit_buckets as b (bucket, subject, capacity, per_ms, tokens, taken, updated_ms)
values (?, ?, ?, ?, ?, ?, ?)
on conflict (bucket, subject) do update set
  tokens = case when ${r} >= 1 then ${r} - 1 else ${r} end,
  taken = case when ${r} >= 1 then 1 else 0 end,
  capacity = excluded.capacity,
  per_ms = excluded.per_ms,
  updated_ms = ${newest}(b.updated_ms, excluded.updated_ms)
returning tokens, taken${withKey ? ', (select count(*) from api_keys where id = ? and revoked_at is null) as key_live' : ''}`;
}

// Written-out statements (src/db/fast.ts): every request runs one, so knex's builder is skipped.
const SQL = {
  sqlite: [sql(upsertSql('sqlite', false)), sql(upsertSql('sqlite', true))],
  postgres: [sql(upsertSql('postgres', false)), sql(upsertSql('postgres', true))],
};

/**
 * Takes one token from `subject`'s bucket; one statement, safe under any concurrency. With
 * `liveKeyId` the same statement also answers whether that API key is live.
 */
export async function takeToken(db: Db, spec: BucketSpec, subject: string, nowMs: number, liveKeyId?: string): Promise<TakeResult> {
  const kind = dbKind(db);
  // A new bucket starts full, minus the token this take spends (when it holds a whole one).
  const isNew = spec.capacity >= 1;
  const bindings: unknown[] = [spec.bucket, subject, spec.capacity, spec.perMs, isNew ? spec.capacity - 1 : spec.capacity, isNew ? 1 : 0, Math.floor(nowMs)];
  if (liveKeyId !== undefined) bindings.push(liveKeyId);
  const row = await first<{ tokens: number | string; taken: number | string; key_live?: number | string }>(
    db, SQL[kind][liveKeyId === undefined ? 0 : 1]!, bindings);
  if (!row) throw new Error('rate limit: the bucket upsert returned no row');
  const out: TakeResult = { taken: Number(row.taken) === 1, tokens: Number(row.tokens) };
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
