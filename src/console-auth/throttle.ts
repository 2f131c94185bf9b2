import { monotonicNow } from '../db/cluster-time.js';

/**
 * Counts failed sign-ins per key (a client address, an email) in a fixed window. Once a key has
 * `limit` failures in the window, every attempt with it is refused until the window ends, even
 * with the right password: otherwise guessing would simply continue at full speed.
 *
 * At most `maxKeys` windows are held: the keys come from clients (addresses, emails, and an IPv6
 * client has endless addresses), so past the cap the oldest window is forgotten. Windows all last
 * `windowMs` and a key's new window goes to the back, so the map is in order of expiry.
 */
export class FailureThrottle {
  private windows = new Map<string, { failures: number; resetAt: number }>();

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
    // The monotonic clock: a step of the machine's clock forward would otherwise lift every
    // lockout at once (a step back would lengthen them).
    private readonly now: () => number = monotonicNow,
    readonly maxKeys = 50_000,
  ) {}

  /** Windows held now (expired ones included until they are pruned). */
  get size(): number {
    return this.windows.size;
  }

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
      // Deleted first, so the new window goes to the back (the map stays in order of expiry).
      if (w) this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) this.makeRoom(now);
      w = { failures: 0, resetAt: now + this.windowMs };
      this.windows.set(key, w);
    }
    w.failures += 1;
  }

  /** Drops expired windows (all at the front), then the oldest live ones until one more fits. */
  private makeRoom(now: number): void {
    for (const [key, w] of this.windows) {
      if (w.resetAt > now && this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}
