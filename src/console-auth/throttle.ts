/**
 * Counts failed sign-ins per key (a client address, an email) in a fixed window. Once a key has
 * `limit` failures in the window, every attempt with it is refused until the window ends, even
 * with the right password: otherwise guessing would simply continue at full speed.
 */
export class FailureThrottle {
  private windows = new Map<string, { failures: number; resetAt: number }>();

  constructor(readonly limit: number, readonly windowMs = 60_000, private readonly now: () => number = Date.now) {}

  /** Seconds until `key` may try again, or 0 when it may now. */
  blockedFor(key: string): number {
    if (this.limit <= 0) return 0;
    const w = this.windows.get(key);
    const now = this.now();
    if (!w || w.resetAt <= now) return 0;
    return w.failures >= this.limit ? Math.max(1, Math.ceil((w.resetAt - now) / 1000)) : 0;
  }

  fail(key: string): void {
    if (this.limit <= 0) return;
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      if (this.windows.size > 50_000) this.prune(now);
      w = { failures: 0, resetAt: now + this.windowMs };
      this.windows.set(key, w);
    }
    w.failures += 1;
  }

  private prune(now: number): void {
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
  }
}
