import type { Job } from './queue.js';

/**
 * The expired leases one reaper has seen, each with when it first saw it (monotonic ms). A lease
 * is taken over only once it has been seen expired and unchanged for `confirmMs`, longer than a
 * holder's heartbeat period: a clock shared by every process (the machine's on SQLite, the
 * database server's on PostgreSQL) that steps forward makes every live lease look expired at
 * once, and a live holder rewrites its lease within a heartbeat, a dead one never does.
 */
export class LeaseSightings {
  private seen = new Map<string, { lease: string | null; owner: string | null; at: number }>();

  constructor(readonly confirmMs: number, private readonly now: () => number = () => performance.now()) {}

  /** Of these expired jobs, the ones whose lease has stayed the same for confirmMs; the others
   *  are remembered (and sightings of jobs no longer among them forgotten). */
  confirmed(jobs: Job[]): Job[] {
    const now = this.now();
    const next = new Map<string, { lease: string | null; owner: string | null; at: number }>();
    const out: Job[] = [];
    for (const job of jobs) {
      const prev = this.seen.get(job.id);
      const same = prev && prev.lease === job.lease_expires_at && prev.owner === job.lease_owner;
      const sighting = same ? prev : { lease: job.lease_expires_at, owner: job.lease_owner, at: now };
      next.set(job.id, sighting);
      if (now - sighting.at >= this.confirmMs) out.push(job);
    }
    this.seen = next;
    return out;
  }
}
