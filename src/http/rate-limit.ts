import type Koa from 'koa';
import type { Db } from '../db/knex.js';
import { pruneBuckets, takeToken } from '../accounts/rate-buckets.js';
import { RateLimitedError } from './errors.js';

/** The outcome of one take, with the numbers for the RateLimit headers. */
export interface Take {
  allowed: boolean;
  remaining: number;
  resetS: number;
  retryAfterS: number;
  /** Asked for with `liveKeyId`: whether that API key was live when the token was taken. */
  keyLive?: boolean;
}

/**
 * A token bucket per subject (an API key, a client address): `perMinute` tokens of capacity,
 * refilled continuously at `perMinute / 60` per second. `perMinute <= 0` turns the limit off.
 */
export interface RateLimiter {
  readonly perMinute: number;
  /** `liveKeyId`: also report whether that key is live, if this limiter can (the shared one can). */
  take(subject: string, liveKeyId?: string): Promise<Take>;
  /**
   * The same take when it needs no statement (a lease still holds tokens), else null and nothing
   * taken: `take` then does it. Spares the busy path its promise.
   */
  takeNow?(subject: string, liveKeyId?: string): Take | null;
}

/** The header numbers from the tokens left after a take. */
function outcome(allowed: boolean, tokens: number, perMinute: number, keyLive?: boolean): Take {
  const perMs = perMinute / 60_000;
  return {
    allowed,
    keyLive,
    remaining: Math.max(0, Math.floor(tokens)),
    resetS: Math.ceil((perMinute - tokens) / perMs / 1000),
    retryAfterS: allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)),
  };
}

/** Tokens a process took ahead from a shared bucket, spent here without a statement. */
interface Lease {
  tokens: number;
  /** The shared bucket's tokens right after the lease was taken (for the RateLimit headers). */
  bucketTokens: number;
  keyLive?: boolean;
  expiresAt: number;
}

/** How long a lease may be spent: also how late a revocation can reach a request. */
export const LEASE_MS = 200;
/** Most tokens one lease takes. */
const MAX_LEASE = 32;

/**
 * The lease size for a limit: 1/64 of the capacity, at most MAX_LEASE; 1 (no lease) below 128 a
 * minute. Tokens sitting in leases can make another process refuse early, but only while the
 * shared bucket holds less than twice a lease (a take then gets one token): at most one lease's
 * tokens per process, under 2% of the capacity. A lease never lets more through than the limit.
 */
export function leaseSize(perMinute: number): number {
  return Math.max(1, Math.min(MAX_LEASE, Math.floor(perMinute / 64)));
}

/**
 * Buckets in the database (src/accounts/rate-buckets.ts): every process on the database shares
 * them, so N API processes allow the limit once. A take that finds the bucket full enough takes a
 * small lease (leaseSize) and spends it over the next LEASE_MS without another statement, which
 * spares busy keys most of the per-request upserts. Buckets that have refilled are deleted at
 * most once a minute per process, after a take.
 */
export class SharedRateLimiter implements RateLimiter {
  private lastPrune: number;
  /** Leases by subject, and apart those taken with the subject's own key checked live (an API key's bucket). */
  private readonly leases = new Map<string, Lease>();
  private readonly liveLeases = new Map<string, Lease>();
  private readonly want: number;

  constructor(
    private readonly db: Db,
    /** Which limit this is, e.g. 'api_key' (the rows of different limits never mix). */
    private readonly bucket: string,
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastPrune = now();
    this.want = leaseSize(perMinute);
  }

  /** Where the lease of this take lives, and its key there (no key built for an API key's own bucket). */
  private leaseSlot(subject: string, liveKeyId: string | undefined): [Map<string, Lease>, string] {
    if (liveKeyId === undefined) return [this.leases, subject];
    return liveKeyId === subject ? [this.liveLeases, subject] : [this.leases, `${subject}\0${liveKeyId}`];
  }

  takeNow(subject: string, liveKeyId?: string): Take | null {
    const lease = liveKeyId === subject ? this.liveLeases.get(subject) : this.leases.get(liveKeyId === undefined ? subject : `${subject}\0${liveKeyId}`);
    return this.spend(lease, this.now());
  }

  /** One token from a live lease, or null when there is none with a token left. */
  private spend(lease: Lease | undefined, now: number): Take | null {
    if (!lease || lease.tokens < 1 || now >= lease.expiresAt) return null;
    lease.tokens -= 1;
    return outcome(true, lease.bucketTokens + lease.tokens, this.perMinute, lease.keyLive);
  }

  async take(subject: string, liveKeyId?: string): Promise<Take> {
    const now = this.now();
    const [leases, key] = this.leaseSlot(subject, liveKeyId);
    const leased = this.spend(leases.get(key), now);
    if (leased) return leased;
    const spec = { bucket: this.bucket, capacity: this.perMinute, perMs: this.perMinute / 60_000 };
    const r = await takeToken(this.db, spec, subject, now, liveKeyId, this.want);
    if (r.count > 1) {
      // Concurrent takes of one subject add to one lease, so no token they took is dropped.
      const current = leases.get(key);
      const kept = current && now < current.expiresAt ? current.tokens : 0;
      if (!current && leases.size >= 10_000) this.dropExpired(leases, now);
      leases.set(key, { tokens: kept + r.count - 1, bucketTokens: r.tokens, keyLive: r.keyLive, expiresAt: now + LEASE_MS });
    }
    if (now - this.lastPrune >= 60_000) {
      this.lastPrune = now;
      // Not awaited: the request need not wait, and a failure only leaves rows for the next prune.
      pruneBuckets(this.db, now).catch(() => {});
    }
    return outcome(r.taken, r.tokens + Math.max(0, r.count - 1), this.perMinute, r.keyLive);
  }

  /** Forgets spent and expired leases (their unspent tokens are not returned: see leaseSize). */
  private dropExpired(leases: Map<string, Lease>, now: number): void {
    for (const [key, lease] of leases) if (lease.tokens < 1 || now >= lease.expiresAt) leases.delete(key);
  }
}

/**
 * Buckets in this process's memory: what every process used before the limits were shared (N
 * processes allowed N times the limit). Kept as the baseline of bench/rate-limit.ts.
 */
export class MemoryRateLimiter implements RateLimiter {
  private buckets = new Map<string, { tokens: number; updated: number }>();
  private readonly ratePerMs: number;

  constructor(readonly perMinute: number, private readonly now: () => number = Date.now) {
    this.ratePerMs = perMinute / 60_000;
  }

  async take(subject: string): Promise<Take> {
    const now = this.now();
    let b = this.buckets.get(subject);
    if (!b) {
      if (this.buckets.size > 50_000) this.prune(now);
      b = { tokens: this.perMinute, updated: now };
      this.buckets.set(subject, b);
    }
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.updated) * this.ratePerMs);
    b.updated = now;
    const allowed = b.tokens >= 1;
    if (allowed) b.tokens -= 1;
    return outcome(allowed, b.tokens, this.perMinute);
  }

  /** Forgets full buckets (they are indistinguishable from new ones). */
  private prune(now: number): void {
    for (const [id, b] of this.buckets) {
      if (b.tokens + (now - b.updated) * this.ratePerMs >= this.perMinute) this.buckets.delete(id);
    }
  }
}

/**
 * Takes the request's token from its caller's bucket (an API key's id, or a console session's
 * `user:` id) and sets the RateLimit headers. With `checkKey` (an API key) also answers whether the
 * key is still live (false: revoked since it was cached). `refusal` is the 429 to throw once the
 * caller has settled authentication, or null when a token was there.
 */
export async function takeKeyToken(
  ctx: Koa.Context, limiter: RateLimiter, keyId: string, checkKey = true,
): Promise<KeyToken> {
  return takeKeyTokenNow(ctx, limiter, keyId, checkKey) ?? spent(ctx, limiter, await limiter.take(keyId, checkKey ? keyId : undefined));
}

export interface KeyToken {
  keyLive: boolean;
  refusal: RateLimitedError | null;
}

/** `takeKeyToken` when the limiter can answer without a statement (`takeNow`), else null and nothing taken. */
export function takeKeyTokenNow(ctx: Koa.Context, limiter: RateLimiter, keyId: string, checkKey = true): KeyToken | null {
  const r = limiter.takeNow?.(keyId, checkKey ? keyId : undefined);
  return r ? spent(ctx, limiter, r) : null;
}

const LIVE_ALLOWED: KeyToken = Object.freeze({ keyLive: true, refusal: null });
const NOT_LIVE: KeyToken = Object.freeze({ keyLive: false, refusal: null });

/** The RateLimit headers of a take, and its outcome. */
function spent(ctx: Koa.Context, limiter: RateLimiter, r: Take): KeyToken {
  if (r.keyLive === false) return NOT_LIVE;
  const limit = String(limiter.perMinute);
  const remaining = String(r.remaining);
  const reset = String(r.resetS);
  // Straight onto the response (what ctx.set does for string values, minus its checks): every
  // request sets these three.
  const res = ctx.res;
  if (!res.headersSent) {
    res.setHeader('RateLimit-Limit', limit);
    res.setHeader('RateLimit-Remaining', remaining);
    res.setHeader('RateLimit-Reset', reset);
  }
  if (r.allowed) return LIVE_ALLOWED;
  const headers = { 'RateLimit-Limit': limit, 'RateLimit-Remaining': remaining, 'RateLimit-Reset': reset };
  return { keyLive: true, refusal: new RateLimitedError(r.retryAfterS, headers) };
}
