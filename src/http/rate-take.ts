/** What every rate limiter answers; the limiters and the take each request makes are in rate-limit.ts. */

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
  /** Waits for work this limiter does in the background, and starts no more: before the database closes. */
  close?(): Promise<void>;
}

/** The header numbers from the tokens left after a take. */
export function outcome(allowed: boolean, tokens: number, perMinute: number, keyLive?: boolean): Take {
  const perMs = perMinute / 60_000;
  return {
    allowed,
    keyLive,
    remaining: Math.max(0, Math.floor(tokens)),
    resetS: Math.ceil((perMinute - tokens) / perMs / 1000),
    retryAfterS: allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)),
  };
}
