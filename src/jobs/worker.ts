import crypto from 'node:crypto';
import os from 'node:os';
import { Sightings } from '@lavendly/framework';
import type { Knex } from 'knex';
import { clusterDate, clusterNow } from '../db/cluster-time.js';
import { runObservedJob } from '../telemetry/observe.js';
import {
  backoffMs, claimBatch, failJob, hasDueJob, heartbeat, reapExpiredLeases, requeueJob,
  type FailureHook, type Job, type JobFailure,
} from './queue.js';
import { listenForJobs, onLocalEnqueue, watchForCommits } from './wake.js';
import { failureLog, type FailureLog } from '../util/failure-log.js';
import { GroupCommit } from './group-commit.js';
import { DEFAULT_OUTAGE_WINDOW_MS, isOutage, outageDelayMs, outagePeer } from './outage.js';

export interface JobContext {
  /** Aborted when the job is canceled, its lease was lost (another worker may now run it), or the
   *  worker is stopping with a deadline. Handlers pass it on to whatever they wait for. */
  signal: AbortSignal;
  /** 1 for the first run, 2 for the first retry, ... */
  attempt: number;
  workerId: string;
  db: Knex;
  /** Extends the lease now (it is also extended on a timer); false if the lease is lost. */
  heartbeat(): Promise<boolean>;
}

/** Handlers must be idempotent: a job runs at least once, and again if its worker dies mid-run. */
export type JobHandler<P = any> = (job: Job<P>, ctx: JobContext) => Promise<unknown>;

export type HandlerEntry = JobHandler | { run: JobHandler; onFailed?: FailureHook };

/** Thrown by a handler for a failure that retrying cannot fix: the job fails at once. */
export class PermanentJobError extends Error {
  readonly permanent = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

export function isPermanent(err: unknown): boolean {
  return err instanceof PermanentJobError || (typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true);
}

export interface WorkerLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

const quietLogger: WorkerLogger = {
  info: () => {},
  warn: () => {},
  error: (obj, msg) => console.error(`[worker] ${msg}`, obj),
};

export interface WorkerOptions {
  db: Knex;
  handlers: Record<string, HandlerEntry>;
  /** Jobs run at once by this worker (default 1). */
  concurrency?: number;
  /** How long a claim lasts without a heartbeat (default 30 s). A dead worker's jobs are run
   *  again this long after its last heartbeat, plus 1.5 heartbeat periods in which a reaper
   *  watches the expired lease stay unchanged, plus up to two reap periods. */
  leaseMs?: number;
  /** Heartbeat period (default leaseMs / 3). */
  heartbeatMs?: number;
  /** Idle poll period (default 1 s). Only a fallback (for jobs that become due later): an
   *  enqueue wakes an idle worker at once when it comes from this process, and from any process
   *  through NOTIFY on PostgreSQL or the data_version check on SQLite (src/jobs/wake.ts). */
  pollMs?: number;
  /** How often to look for jobs whose worker died (default leaseMs / 2, at least pollMs,
   *  at most 5 s). */
  reapMs?: number;
  workerId?: string;
  /** Retry delays: base * 2^(attempt-1), capped, jittered (default 1 s .. 5 min). */
  backoff?: { baseMs?: number; maxMs?: number };
  /** How long after its creation a job failing on a peer's outage is retried without spending
   *  an attempt (default 30 min; src/jobs/outage.ts). After that such failures count as any other. */
  outageWindowMs?: number;
  /** Called (in the failing transaction) for every job that ends failed, after any per-type
   *  `onFailed`. This is where a crashed or failed job's credit reservation gets released. */
  onJobFailed?: FailureHook;
  logger?: WorkerLogger;
  /** Another worker's failure logs, shared by the lanes of one process (worker-main.ts), so a
   *  lost database is one "worker poll failed" line per process, not one per lane. */
  failureLogs?: WorkerFailureLogs;
}

/** What a worker reports once per run of failures (src/util/failure-log.ts). */
export interface WorkerFailureLogs {
  poll: FailureLog;
  notifications: FailureLog;
}

/**
 * An error for the log and the job row (never shown to customers), with its causes: an error
 * meant for customers (the media store being unavailable) keeps the telling part, the store's
 * address and socket error, on `cause`.
 */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 4000);
  const cause = err.cause instanceof Error ? ` (cause: ${errorText(err.cause)})` : '';
  return `${err.name}: ${err.message}${cause}`.slice(0, 4000);
}

class LeaseLost extends Error {
  constructor(readonly why: 'lost' | 'stopping') {
    super(why === 'lost' ? 'lease lost (job canceled or taken over after expiry)' : 'worker stopping');
    this.name = 'LeaseLost';
  }
}

/**
 * Runs jobs from the queue: claims due jobs of the types it has handlers for (up to
 * `concurrency` at once), heartbeats each while it runs, records the result, retries transient
 * errors with backoff up to max_attempts, fails permanent ones (running the failure hooks in the
 * same transaction), and reaps jobs whose worker died.
 */
export class Worker {
  readonly workerId: string;
  private readonly db: Knex;
  private readonly handlers: Map<string, { run: JobHandler; onFailed?: FailureHook }>;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly reapMs: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly outageWindowMs: number;
  private readonly onJobFailed?: FailureHook;
  private readonly log: WorkerLogger;
  readonly failureLogs: WorkerFailureLogs;
  private readonly inFlight = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  private loopPromise: Promise<void> | null = null;
  private stopping = false;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private probing = false;
  /** Slots being filled by claims still in flight. */
  private claiming = 0;
  /** Jobs in flight that are only recording their result and have handed their slot on. */
  private readonly handedOver = new Set<string>();
  /** Jobs this worker finished (any outcome), for tests and metrics. */
  processed = 0;
  private readonly completions: GroupCommit;
  private readonly leaseSightings: Sightings;

  constructor(options: WorkerOptions) {
    this.db = options.db;
    this.handlers = new Map(Object.entries(options.handlers).map(([type, h]) => [type, typeof h === 'function' ? { run: h } : h]));
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.leaseMs = options.leaseMs ?? 30_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(10, Math.floor(this.leaseMs / 3));
    this.pollMs = options.pollMs ?? 1000;
    this.reapMs = options.reapMs ?? Math.max(this.pollMs, Math.min(Math.floor(this.leaseMs / 2), 5000));
    this.baseMs = options.backoff?.baseMs ?? 1000;
    this.maxMs = options.backoff?.maxMs ?? 300_000;
    this.outageWindowMs = options.outageWindowMs ?? DEFAULT_OUTAGE_WINDOW_MS;
    this.onJobFailed = options.onJobFailed;
    this.workerId = options.workerId ?? `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
    this.log = options.logger ?? quietLogger;
    this.failureLogs = options.failureLogs ?? {
      poll: failureLog(this.log, 'worker poll', { worker: this.workerId }),
      // While the database is away the LISTEN connection fails at every retry: one line, not one each.
      notifications: failureLog(this.log, 'job notifications (LISTEN; polling meanwhile)', { worker: this.workerId }),
    };
    if (this.heartbeatMs >= this.leaseMs) throw new Error('heartbeatMs must be shorter than leaseMs');
    // A lease is taken over only once seen expired and unchanged for half again a heartbeat
    // period: a live holder has rewritten it by then, whatever the shared clock (the machine's on
    // SQLite, the database server's on PostgreSQL) did; a step of it makes every lease look expired.
    this.leaseSightings = new Sightings(Math.min(this.leaseMs, Math.ceil(this.heartbeatMs * 1.5)));
    this.completions = new GroupCommit(this.db, {
      claimOptions: () => ({ workerId: this.workerId, leaseMs: this.leaseMs, types: [...this.handlers.keys()] }),
      // Stopping: claim nothing more.
      freeSlots: () => (this.stopping ? 0 : Math.max(0, this.freeSlots())),
      reserve: (n) => { this.claiming += n; },
      claimed: async (jobs) => {
        for (const claimed of jobs) {
          // Stopping meanwhile: give the job back untouched rather than start it (if that fails,
          // its lease runs out and the reaper requeues it).
          if (!this.stopping) this.launch(claimed);
          else {
            await requeueJob(this.db, claimed.id, this.workerId, 'interrupted: worker stopped', clusterDate(), true)
              .catch((err) => this.log.error({ err: errorText(err), job: claimed.id }, 'giving back a job claimed while stopping failed'));
          }
        }
      },
    });
  }

  get running(): boolean {
    return this.loopPromise !== null && !this.stopping;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  start(): void {
    if (this.loopPromise) return;
    this.stopping = false;
    this.loopPromise = this.loop();
  }

  /**
   * Stops claiming and waits for the jobs in flight to finish. With `abortAfterMs`, jobs still
   * running after that long get their signal aborted and go back to the queue without using up
   * an attempt.
   */
  async stop(options: { abortAfterMs?: number } = {}): Promise<void> {
    if (!this.loopPromise) return;
    this.stopping = true;
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    if (options.abortAfterMs !== undefined) {
      timer = setTimeout(() => {
        for (const f of this.inFlight.values()) f.abort.abort(new LeaseLost('stopping'));
      }, options.abortAfterMs);
    }
    try {
      await this.loopPromise;
      // A job finishing now may hand its slot to the next job (claimed with its completion).
      while (this.inFlight.size > 0) await Promise.all([...this.inFlight.values()].map((f) => f.promise));
    } finally {
      clearTimeout(timer);
      this.loopPromise = null;
    }
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    if (w) w();
    else this.woken = true; // not asleep yet: the next sleep returns at once
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(t);
        if (this.wakeUp === finish) this.wakeUp = null;
        resolve();
      };
      const t = setTimeout(finish, ms);
      this.wakeUp = finish;
    });
  }

  private hookFor = (job: Job): FailureHook | undefined => {
    const own = this.handlers.get(job.type)?.onFailed;
    const global = this.onJobFailed;
    if (!own) return global;
    if (!global) return own;
    return async (j, f, trx) => { await own(j, f, trx); await global(j, f, trx); };
  };

  private async loop(): Promise<void> {
    const unsubscribe = onLocalEnqueue(this.db, () => this.wake());
    const notifications = this.failureLogs.notifications;
    const listener = listenForJobs(this.db, () => this.wake(), notifications.failed, notifications.succeeded);
    const commits = watchForCommits(this.db, () => this.foreignCommit());
    try {
      await this.poll();
    } finally {
      unsubscribe();
      await Promise.all([listener.close(), commits.close()]);
    }
  }

  /** SQLite: another process committed. If this worker is asleep with free slots, look (a read)
   *  for a due job of its types and wake up to claim it. */
  private foreignCommit(): void {
    if (this.probing || this.stopping || this.wakeUp === null || this.inFlight.size >= this.concurrency) return;
    this.probing = true;
    hasDueJob(this.db, [...this.handlers.keys()])
      .then((due) => { if (due) this.wake(); }, () => { /* the poll reports database trouble */ })
      .finally(() => { this.probing = false; });
  }

  private async poll(): Promise<void> {
    const types = [...this.handlers.keys()];
    let lastReap = -Infinity; // monotonic: a clock stepping back must not hold reaping off
    const polling = this.failureLogs.poll;
    while (!this.stopping) {
      try {
        if (performance.now() - lastReap >= this.reapMs) {
          lastReap = performance.now();
          const reaped = await reapExpiredLeases(this.db, { hookFor: this.hookFor, types, sightings: this.leaseSightings });
          if (reaped.requeued || reaped.failed) this.log.warn({ ...reaped, worker: this.workerId }, 'reaped jobs with expired leases');
        }
        while (!this.stopping && this.freeSlots() > 0) {
          const free = this.freeSlots();
          this.claiming += free;
          let jobs: Job[];
          try {
            jobs = await claimBatch(this.db, { workerId: this.workerId, leaseMs: this.leaseMs, types }, free);
          } finally {
            this.claiming -= free;
          }
          for (const job of jobs) this.launch(job);
          if (jobs.length === 0) break;
        }
        polling.succeeded();
      } catch (err) {
        polling.failed(err);
      }
      if (this.stopping) break;
      // At capacity: a finishing job wakes us; idle: an enqueue wakes us, else poll after pollMs.
      await this.sleep(this.inFlight.size >= this.concurrency ? 60_000 : this.pollMs);
    }
  }

  private freeSlots(): number {
    return this.concurrency - (this.inFlight.size - this.handedOver.size) - this.claiming;
  }

  private launch(job: Job): void {
    const abort = new AbortController();
    const promise = this.execute(job, abort)
      .catch((err) => this.log.error({ err: errorText(err), job: job.id }, 'recording a job outcome failed'))
      .finally(() => {
        this.inFlight.delete(job.id);
        this.handedOver.delete(job.id);
        this.processed++;
        this.wake();
      });
    this.inFlight.set(job.id, { promise, abort });
  }

  private async execute(job: Job, abort: AbortController): Promise<void> {
    const entry = this.handlers.get(job.type);
    if (!entry) {
      await failJob(this.db, job.id, { workerId: this.workerId }, { reason: 'permanent', message: `no handler for job type '${job.type}'` }, this.hookFor(job));
      return;
    }
    let beating = true;
    let timer: NodeJS.Timeout | undefined;
    const beat = async (): Promise<boolean> => {
      const ok = await heartbeat(this.db, job.id, this.workerId, this.leaseMs).catch((err) => {
        // A failed heartbeat is not a lost lease: keep going and try again at the next tick.
        this.log.warn({ err: errorText(err), job: job.id }, 'heartbeat failed');
        return true;
      });
      if (!ok && !abort.signal.aborted) abort.abort(new LeaseLost('lost'));
      return ok;
    };
    const schedule = () => {
      timer = setTimeout(async () => {
        await beat();
        if (beating && !abort.signal.aborted) schedule();
      }, this.heartbeatMs);
    };
    schedule();
    const ctx: JobContext = { signal: abort.signal, attempt: job.attempts, workerId: this.workerId, db: this.db, heartbeat: beat };
    let result: unknown;
    let error: unknown;
    let failed = false;
    try {
      result = await runObservedJob(job, () => entry.run(job, ctx));
    } catch (err) {
      failed = true;
      error = err;
    } finally {
      beating = false;
      clearTimeout(timer);
    }

    const reason = abort.signal.reason;
    if (reason instanceof LeaseLost && reason.why === 'lost') {
      this.log.warn({ job: job.id }, 'job lost its lease (canceled or taken over); outcome discarded');
      return;
    }
    if (!failed) {
      // The slot this job frees is handed on: the completion is written in a group with the other
      // slots' completions of this moment, in the transaction that claims the next jobs.
      if (!this.stopping) this.handedOver.add(job.id);
      const ok = await this.completions.record(job.id, result);
      if (!ok) this.log.warn({ job: job.id }, 'job finished after losing its lease; result discarded');
      return;
    }
    if (reason instanceof LeaseLost && reason.why === 'stopping') {
      await requeueJob(this.db, job.id, this.workerId, 'interrupted: worker stopped', clusterDate(), true);
      return;
    }
    const permanent = isPermanent(error);
    const ageMs = clusterNow() - Date.parse(job.created_at);
    if (!permanent && isOutage(error) && ageMs < this.outageWindowMs) {
      const delay = outageDelayMs(ageMs, this.baseMs, this.maxMs);
      await requeueJob(this.db, job.id, this.workerId, errorText(error), new Date(clusterNow() + delay), true, outagePeer(error));
      this.log.info({ job: job.id, attempt: job.attempts, retryInMs: delay, err: errorText(error) }, 'job will be retried once its peer is back');
      return;
    }
    if (permanent || job.attempts >= job.max_attempts) {
      const failure: JobFailure = permanent
        ? { reason: 'permanent', message: errorText(error), error }
        : { reason: 'exhausted', message: `gave up after ${job.attempts} attempts: ${errorText(error)}`, error };
      const done = await failJob(this.db, job.id, { workerId: this.workerId }, failure, this.hookFor(job));
      if (done) this.log.warn({ job: job.id, type: job.type, reason: failure.reason, err: failure.message }, 'job failed');
      return;
    }
    const delay = backoffMs(job.attempts, this.baseMs, this.maxMs);
    await requeueJob(this.db, job.id, this.workerId, errorText(error), new Date(clusterNow() + delay));
    this.log.info({ job: job.id, attempt: job.attempts, retryInMs: delay, err: errorText(error) }, 'job will be retried');
  }
}
