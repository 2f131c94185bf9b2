// The cluster's clock, kept apart from src/db/clock.ts (which measures it) so that every module,
// src/db/knex.ts's nowIso() included, can read it without importing the database code.

/**
 * The database server's clock minus this process's monotonic clock, in ms, while a `serve` or
 * `worker` follows a PostgreSQL server's clock (null: SQLite, or nothing follows; then the
 * wall clock is the cluster's clock, since every process shares this machine's).
 */
let dbOffsetMs: number | null = null;

/** Wall-clock ms that a step of the system clock does not move (CLOCK_MONOTONIC underneath). */
export function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Now, as ms since the epoch, on the clock every process of the cluster agrees on: the database
 * server's (estimated from an offset measured at start and every 30 s, carried by the monotonic
 * clock in between) on PostgreSQL, this machine's on SQLite. Every time written to the database
 * for another process to compare with (leases, expiries, next attempts, run_at) comes from here,
 * so a machine's clock stepping or drifting while the process runs moves none of them. No round
 * trip: hot paths call it freely.
 */
export function clusterNow(): number {
  // Whole milliseconds, as Date.now() gives: columns such as transfer_slots.expires_ms are
  // integers, and PostgreSQL refuses a fraction for them (the monotonic clock has microseconds).
  return dbOffsetMs === null ? Date.now() : Math.floor(monotonicNow() + dbOffsetMs);
}

/** `clusterNow()` as a Date. */
export function clusterDate(): Date {
  return new Date(clusterNow());
}

/** Set by followDbClock (src/db/clock.ts) only. */
export function setDbOffset(ms: number | null): void {
  dbOffsetMs = ms;
}
