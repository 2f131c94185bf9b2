import type { Knex } from 'knex';
import { completeJobJson, completeManyAndClaim, resultJson, type ClaimOptions, type Job } from './queue.js';

/**
 * Group commit for one worker's completions. The jobs that finish in the same turn of the event
 * loop, or while the previous group's commit is under way, are recorded together with the claim
 * of the jobs for the slots they free: one transaction (one WAL commit on SQLite) for the group
 * instead of one per job, and a claim batch as large as the slots freed.
 *
 * Each completion keeps its own guard (still this worker's lease, still running), so grouping
 * changes when a result is written, never whether. If the group's transaction fails, none of it
 * was written, and each completion is tried again alone: a completion that cannot be written
 * fails by itself (the job stays running, and is run again once its lease expires, as before),
 * and the others are recorded. A claim is the same guarded UPDATE as ever, so no job is claimed
 * twice; jobs claimed by a failed group were not claimed at all.
 *
 * On SQLite the group's transaction runs on the shared group commit (src/db/sqlite-group.ts, via
 * `completeManyAndClaim`): the whole group, completions and claim, is ONE unit there, so it may
 * share its BEGIN IMMEDIATE .. COMMIT with other workers' groups and ledger moves of the same turn
 * (each unit in its own savepoint). This class stays on top of it for what that module does not
 * do: PostgreSQL (one statement with CTEs), a claim sized by the slots the whole group frees (so
 * the group must be known before its claim is built, not unit by unit), and the retry of each
 * completion alone when the group fails. Same-run bench against running the group in a
 * transaction of its own (bench/queue.ts, 4 claimers on one handle): the grouped loop 0.89x CPU
 * per job, Workers 0.94-0.95x.
 */

/** More than this many waiting completions go in several groups (a bound on one transaction). */
const MAX_GROUP = 64;

export interface GroupCommitHooks {
  claimOptions(): ClaimOptions;
  /** How many jobs to claim with this group (0 while stopping). */
  freeSlots(): number;
  /** Slots being filled by this group's claim: +n before, -n once it is answered. */
  reserve(n: number): void;
  /** The jobs the group claimed (start them, or give them back when stopping). */
  claimed(jobs: Job[]): Promise<void>;
}

interface Pending {
  jobId: string;
  resultJson: string;
  resolve(completed: boolean): void;
  reject(err: unknown): void;
}

export class GroupCommit {
  private pending: Pending[] = [];
  private flushing = false;

  constructor(private readonly db: Knex, private readonly hooks: GroupCommitHooks) {}

  /** Records the job succeeded with `result`; resolves false if the lease was no longer this
   *  worker's (the result is discarded), rejects if it could not be written. */
  record(jobId: string, result: unknown): Promise<boolean> {
    // Serialised now, so a result JSON cannot hold fails alone and before any group.
    const json = resultJson(result);
    return new Promise((resolve, reject) => {
      this.pending.push({ jobId, resultJson: json, resolve, reject });
      if (this.flushing) return;
      this.flushing = true;
      // setImmediate, not a microtask: sibling jobs finishing in this turn get to join.
      setImmediate(() => { void this.flush(); });
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      // `commit` settles every job of its group itself, whatever happens.
      await this.commit(this.pending.splice(0, MAX_GROUP)).catch(() => {});
    }
    this.flushing = false;
  }

  private async commit(group: Pending[]): Promise<void> {
    const options = this.hooks.claimOptions();
    const take = this.hooks.freeSlots();
    this.hooks.reserve(take);
    let outcome: { completed: boolean[]; jobs: Job[] };
    try {
      outcome = await completeManyAndClaim(this.db, group, options, take);
    } catch (err) {
      this.hooks.reserve(-take);
      if (group.length === 1) group[0]!.reject(err);
      else await this.oneByOne(group, options.workerId);
      return;
    }
    this.hooks.reserve(-take);
    try {
      await this.hooks.claimed(outcome.jobs);
    } finally {
      group.forEach((p, i) => p.resolve(outcome.completed[i]!));
    }
  }

  /** The group failed as a whole: each completion alone, each settling its own job. */
  private async oneByOne(group: Pending[], workerId: string): Promise<void> {
    await Promise.all(group.map((p) => completeJobJson(this.db, p.jobId, workerId, p.resultJson).then(p.resolve, p.reject)));
  }
}
