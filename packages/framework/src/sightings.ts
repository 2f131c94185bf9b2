/**
 * Values seen unchanged since when, on the monotonic clock, for a takeover that must wait for real
 * elapsed time rather than trust a time stamp written by another process: a lease or claim that
 * looks expired, a temporary file that looks abandoned. A step of the clock those stamps are
 * compared with (the machine's, or a database server's that every process shares) makes every
 * live holder's stamp look old at once; a live holder changes its value (renews, writes) within
 * `confirmMs`, a dead one never does, and performance.now() moves with no step.
 */
export class Sightings {
  private readonly seen = new Map<string, { value: string; at: number }>();

  constructor(
    readonly confirmMs = 0,
    /** Forgotten wholesale past this many keys (each then waits once more), for callers that
     *  never learn which keys are gone; keepOnly bounds the others. */
    private readonly max = Number.POSITIVE_INFINITY,
  ) {}

  /** Whether `key` has shown `value` for `confirmMs`. The first sighting of a value starts its
   *  count (so it answers false, even for a wait of 0). */
  confirmed(key: string, value: string, confirmMs = this.confirmMs): boolean {
    const now = performance.now();
    const prev = this.seen.get(key);
    if (prev?.value === value) return now - prev.at >= confirmMs;
    if (!prev && this.seen.size >= this.max) this.seen.clear();
    this.seen.set(key, { value, at: now });
    return false;
  }

  /** As `confirmed`, and forgets the key when it answers true: the caller takes it over, which
   *  gives it a new value, so a later sighting starts a new count. */
  confirmedOnce(key: string, value: string): boolean {
    if (!this.confirmed(key, value)) return false;
    this.seen.delete(key);
    return true;
  }

  /** Forgets every key but these (the ones a caller still sees: gone files, renewed leases). */
  keepOnly(keys: ReadonlySet<string>): void {
    for (const key of this.seen.keys()) if (!keys.has(key)) this.seen.delete(key);
  }
}
