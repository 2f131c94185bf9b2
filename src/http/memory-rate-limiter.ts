import { outcome, type RateLimiter, type Take } from './rate-take.js';

/**
 * Buckets in this process's memory: what every process used before the limits were shared (N
 * processes allowed N times the limit). Kept as the baseline of bench/rate-limit.ts, and as the
 * shared limiter's stand-in while the database cannot take a write (a full disk).
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
    // A clock stepped back refills nothing rather than taking tokens away (an hour back left a
    // key an hour in debt).
    b.tokens = Math.min(this.perMinute, b.tokens + Math.max(0, now - b.updated) * this.ratePerMs);
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
