/**
 * A job failing because a peer it needs is away (the media store down, hanging, answering 5xx)
 * rather than because of the job itself. Counting such runs against `max_attempts` would fail
 * every job in flight during a store restart of a few seconds (three attempts fit in ~3 s of
 * backoff), so the worker retries them without spending an attempt for as long as the outage
 * window lasts, and the jobs carry on by themselves once the peer is back.
 */

/** How long after its creation a job keeps waiting out a peer's outage (default 30 min). */
export const DEFAULT_OUTAGE_WINDOW_MS = 30 * 60_000;

/** An error that says so: `outage === true` (StorageUnavailableError). Duck-typed, as `permanent` is,
 *  so the queue knows nothing of the parts that throw it. */
export function isOutage(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { outage?: unknown }).outage === true;
}

/** The peer an outage error names (`peer`, such as `storage`), for clients to read as what a job
 *  waits for; `service` when it names none. */
export function outagePeer(err: unknown): string {
  const peer = (err as { peer?: unknown }).peer;
  return typeof peer === 'string' && /^[a-z_]{1,32}$/.test(peer) ? peer : 'service';
}

/**
 * The wait before the next run of a job `ageMs` old that met an outage: half its age, within
 * base .. max, jittered. Refunded runs leave `attempts` unchanged, so the job's age is what grows:
 * the waits double roughly every run, as the attempts' backoff does, without a column to count them.
 */
export function outageDelayMs(ageMs: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const d = Math.min(maxMs, Math.max(baseMs, ageMs / 2));
  return Math.round(d * (0.75 + random() * 0.5));
}
