/**
 * Rate limits: the limiters (the shared one, whose buckets live in the database, is in
 * shared-rate-limiter.ts) and the take each request makes, which sets the RateLimit headers.
 */
import type Koa from 'koa';
import { RateLimitedError } from './errors.js';
import type { RateLimiter, Take } from './rate-take.js';

export type { RateLimiter } from './rate-take.js';
export { grownLeaseSize, LEASE_MS, leaseSize, SharedRateLimiter } from './shared-rate-limiter.js';
export { MemoryRateLimiter } from './memory-rate-limiter.js';

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
