/**
 * Expired-looking leases one process has seen, each with when it first saw it (monotonic ms), for
 * takeovers that must not trust the shared clock alone: that clock (the machine's on SQLite, the
 * database server's on PostgreSQL) stepping forward makes every live lease look expired at once.
 * A holder renews its lease well within `confirmMs`, so a lease seen expired and unchanged that
 * long belongs to a holder that died. (Job leases: src/jobs/lease-sightings.ts.)
 */
export class ExpirySightings {
  private seen = new Map<string, { lease: string; at: number }>();

  constructor(
    readonly confirmMs: number,
    /** Forgotten wholesale past this many (a takeover then waits one confirmMs more). */
    private readonly max = 10_000,
  ) {}

  /** Whether `lease` (a value that changes at every renewal) has been seen for `key` for
   *  confirmMs; the first sighting of it starts the count. */
  confirmed(key: string, lease: string): boolean {
    const now = performance.now();
    const prev = this.seen.get(key);
    if (prev?.lease === lease) {
      if (now - prev.at < this.confirmMs) return false;
      this.seen.delete(key);
      return true;
    }
    if (!prev && this.seen.size >= this.max) this.seen.clear();
    this.seen.set(key, { lease, at: now });
    return false;
  }
}
