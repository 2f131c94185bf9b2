import type Koa from 'koa';
import { RateLimitedError } from './errors.js';
import type { LavendlyState } from './context.js';

interface Bucket {
  tokens: number;
  updated: number;
}

/**
 * Token buckets per API key, in process memory: `perMinute` tokens of capacity, refilled
 * continuously at `perMinute / 60` per second. Several server processes each hold their own
 * buckets, so the effective limit is per process.
 */
export class RateLimiter {
  private buckets = new Map<string, Bucket>();
  private readonly ratePerMs: number;

  constructor(readonly perMinute: number, private readonly now: () => number = Date.now) {
    this.ratePerMs = perMinute / 60_000;
  }

  /** Takes one token; answers whether it was there and the numbers for the headers. */
  take(id: string): { allowed: boolean; remaining: number; resetS: number; retryAfterS: number } {
    const now = this.now();
    let b = this.buckets.get(id);
    if (!b) {
      if (this.buckets.size > 50_000) this.prune(now);
      b = { tokens: this.perMinute, updated: now };
      this.buckets.set(id, b);
    }
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.updated) * this.ratePerMs);
    b.updated = now;
    const allowed = b.tokens >= 1;
    if (allowed) b.tokens -= 1;
    const remaining = Math.floor(b.tokens);
    const resetS = Math.ceil((this.perMinute - b.tokens) / this.ratePerMs / 1000);
    const retryAfterS = allowed ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerMs / 1000));
    return { allowed, remaining, resetS, retryAfterS };
  }

  /** Forgets full buckets (they are indistinguishable from new ones). */
  private prune(now: number): void {
    for (const [id, b] of this.buckets) {
      if (b.tokens + (now - b.updated) * this.ratePerMs >= this.perMinute) this.buckets.delete(id);
    }
  }
}

/** Limits per API key; requests without an authenticated key are not limited here. Throws 429. */
export function applyRateLimit(ctx: Koa.Context, limiter: RateLimiter): void {
  const account = (ctx.state as LavendlyState).account;
  if (!account || limiter.perMinute <= 0) return;
  const r = limiter.take(account.keyId);
  const headers = {
    'RateLimit-Limit': String(limiter.perMinute),
    'RateLimit-Remaining': String(r.remaining),
    'RateLimit-Reset': String(r.resetS),
  };
  ctx.set(headers);
  if (!r.allowed) throw new RateLimitedError(r.retryAfterS, headers);
}
