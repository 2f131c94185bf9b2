import type { Sightings } from '@lavendly/framework';
import type { Knex } from 'knex';
import { rows as fastRows, run as fastRun, sql, type Sql } from '../db/fast.js';
import { clusterDate, clusterNow } from '../db/cluster-time.js';
import { dbKind } from '../db/knex.js';
import { sqliteGroupWork } from '../db/sqlite-group.js';
import { currentTraceparent } from '../telemetry/observe.js';
import { newId } from '../util/ids.js';
import { announceEnqueued } from './wake.js';

/**
 * A durable job queue in the database. Every state change is one conditional UPDATE whose WHERE
 * clause states what must still be true (still queued; still leased by me; lease really expired),
 * so two workers can never both take a job, and a worker that lost its lease can never overwrite
 * what the job's new owner does. PostgreSQL picks candidates with FOR UPDATE SKIP LOCKED so
 * workers do not queue up behind one row; SQLite runs each statement under its single write lock.
 */

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export interface Job<P = unknown> {
  id: string;
  type: string;
  payload: P;
  status: JobStatus;
  /** Runs started so far (incremented when claimed). */
  attempts: number;
  max_attempts: number;
  run_at: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
  last_error: string | null;
  result: unknown;
  dedupe_key: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** W3C traceparent of the span that enqueued the job (tracing on), for the run's span link. */
  trace_context: string | null;
}

export interface EnqueueInput<P = unknown> {
  type: string;
  payload: P;
  /** Not before this time (default now). */
  runAt?: Date;
  /** Default 5. */
  maxAttempts?: number;
  /** At most one job ever exists per key; enqueueing the key again returns that job. */
  dedupeKey?: string;
}

export const DEFAULT_MAX_ATTEMPTS = 5;

type Db = Knex | Knex.Transaction;

const RETURNING = [
  'id', 'type', 'payload', 'status', 'attempts', 'max_attempts', 'run_at', 'lease_owner', 'lease_expires_at',
  'last_error', 'result', 'dedupe_key', 'created_at', 'updated_at', 'started_at', 'finished_at', 'trace_context',
];

function parseJson(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  return JSON.parse(String(v));
}

export function toJob<P = unknown>(row: Record<string, unknown>): Job<P> {
  return {
    id: String(row.id),
    type: String(row.type),
    payload: parseJson(row.payload) as P,
    status: row.status as JobStatus,
    attempts: Number(row.attempts),
    max_attempts: Number(row.max_attempts),
    run_at: String(row.run_at),
    lease_owner: (row.lease_owner as string | null) ?? null,
    lease_expires_at: (row.lease_expires_at as string | null) ?? null,
    last_error: (row.last_error as string | null) ?? null,
    result: parseJson(row.result),
    dedupe_key: (row.dedupe_key as string | null) ?? null,
    created_at: String(row.created_at),
    updated_at: String(row.updated_at),
    started_at: (row.started_at as string | null) ?? null,
    finished_at: (row.finished_at as string | null) ?? null,
    trace_context: (row.trace_context as string | null) ?? null,
  };
}

function iso(d: Date | number): string {
  return new Date(d).toISOString();
}

/**
 * Adds a job. Pass a transaction to enqueue atomically with the change that calls for the job
 * (it becomes visible to workers when that transaction commits). With a dedupe key already
 * used, nothing is inserted and the existing job is returned with `deduplicated: true`.
 */
export async function enqueue<P>(db: Db, input: EnqueueInput<P>): Promise<Job<P> & { deduplicated: boolean }> {
  const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) throw new Error(`maxAttempts must be an integer >= 1 (got ${maxAttempts})`);
  if (!input.type) throw new Error('a job needs a type');
  const now = iso(clusterNow());
  const row = {
    id: newId('job'),
    type: input.type,
    payload: JSON.stringify(input.payload ?? null),
    status: 'queued',
    attempts: 0,
    max_attempts: maxAttempts,
    run_at: input.runAt ? iso(input.runAt) : now,
    dedupe_key: input.dedupeKey ?? null,
    created_at: now,
    updated_at: now,
    trace_context: currentTraceparent(),
  };
  if (input.dedupeKey === undefined) {
    await db('jobs').insert(row);
    await announceEnqueued(db);
    return { ...toJob<P>(row), deduplicated: false };
  }
  // ON CONFLICT DO NOTHING rather than catching a unique violation: on PostgreSQL a failed
  // statement would poison the caller's transaction.
  const inserted = await db('jobs').insert(row).onConflict('dedupe_key').ignore().returning(RETURNING);
  if ((inserted as unknown[]).length > 0) {
    await announceEnqueued(db);
    return { ...toJob<P>(row), deduplicated: false };
  }
  const existing = await db('jobs').where({ dedupe_key: input.dedupeKey }).first();
  return { ...toJob<P>(existing), deduplicated: true };
}

export interface ClaimOptions {
  workerId: string;
  leaseMs: number;
  /** Only jobs of these types (a worker claims only what it has handlers for). */
  types?: string[];
  now?: Date;
}

/**
 * Takes the next due queued job for this worker: status becomes running, the lease is this
 * worker's until now + leaseMs, attempts + 1. Returns null when nothing is due.
 */
export async function claim(db: Knex, options: ClaimOptions): Promise<Job | null> {
  const [job] = await claimBatch(db, options, 1);
  return job ?? null;
}

/**
 * Takes up to `limit` due queued jobs in one statement (a worker with free slots fills them in
 * one round trip), oldest due first. Each is claimed as by `claim`.
 */
export async function claimBatch(db: Knex, options: ClaimOptions, limit: number): Promise<Job[]> {
  const { params, typeCount, postgres } = claimParams(db, options, options.now ?? clusterDate());
  return byRunAt(await fastRows(db, claimStatement(postgres, typeCount, Math.max(1, Math.trunc(limit))), params));
}

function claimParams(db: Knex, options: ClaimOptions, now: Date): { params: unknown[]; typeCount: number | null; postgres: boolean } {
  const nowIso = iso(now);
  const types = options.types ? (options.types.length ? options.types : ['']) : null;
  const postgres = dbKind(db) === 'postgres';
  const params: unknown[] = [options.workerId, iso(now.getTime() + options.leaseMs), nowIso, nowIso, nowIso];
  if (types) params.push(...(postgres ? [types] : types));
  return { params, typeCount: types?.length ?? null, postgres };
}

/** Claimed rows as jobs, oldest due first (RETURNING does not keep the subquery's order). */
function byRunAt(rows: Array<Record<string, unknown>>): Job[] {
  return rows.map((r) => toJob(r)).sort((a, b) => (a.run_at < b.run_at ? -1 : a.run_at > b.run_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const claimStatements = new Map<string, Sql>();

/**
 * The claim as one statement, written out rather than built by knex per call (src/db/fast.ts).
 * The limit is part of the text (SQLite runs a bound `limit ?` several times slower); SQLite gets
 * one text per number of types, PostgreSQL binds the types as one array. PostgreSQL may plan
 * `id IN (subquery)` as a join that runs the locking subquery more than once; ARRAY(subquery)
 * runs it exactly once, and SKIP LOCKED keeps claimers from queueing up behind one row.
 */
function claimStatement(postgres: boolean, typeCount: number | null, limit: number, afterCte?: string): Sql {
  const key = `${postgres}:${typeCount}:${limit}:${afterCte ?? ''}`;
  let statement = claimStatements.get(key);
  if (statement) return statement;
  const byType = typeCount === null ? '' : postgres ? ' and "type" = any(?)' : ` and "type" in (${Array(typeCount).fill('?').join(', ')})`;
  // Inside one statement with completions (PostgreSQL), the pick waits for the completions: see
  // `completeManyAndClaim`.
  const first = afterCte ? ` and (select count(*) from "${afterCte}") >= 0` : '';
  const pick = `select "id" from "jobs" where "status" = 'queued' and "run_at" <= ?${byType}${first} order by "run_at" asc, "id" asc limit ${limit}`;
  statement = sql(
    'update "jobs" set "status" = \'running\', "lease_owner" = ?, "lease_expires_at" = ?, "attempts" = "attempts" + 1, "started_at" = ?, "updated_at" = ?'
    + (postgres ? ` where "id" = any(array(${pick} for update skip locked))` : ` where "id" in (${pick})`)
    // SQLite: the unary + keeps the planner from walking the status index of the outer UPDATE
    // (every queued row, per claim) instead of looking the picked ids up by primary key.
    + ` and ${postgres ? '' : '+'}"status" = 'queued' returning ${RETURNING.map((c) => `"${c}"`).join(', ')}`,
  );
  if (claimStatements.size < 200) claimStatements.set(key, statement);
  return statement;
}

const dueStatements = new Map<number, Sql>();

/**
 * Whether a queued job of these types is due: a read, so an idle SQLite worker can look after
 * every foreign commit without taking the write lock a claim takes.
 */
export async function hasDueJob(db: Knex, types: string[]): Promise<boolean> {
  const postgres = dbKind(db) === 'postgres';
  const count = postgres ? 1 : Math.max(1, types.length);
  let statement = dueStatements.get(postgres ? -1 : count);
  if (!statement) {
    statement = sql(`select 1 as "due" from "jobs" where "status" = 'queued' and "run_at" <= ? and "type" ${
      postgres ? '= any(?)' : `in (${Array(count).fill('?').join(', ')})`} limit 1`);
    if (dueStatements.size < 200) dueStatements.set(postgres ? -1 : count, statement);
  }
  const params = [iso(clusterNow()), ...(postgres ? [types] : types.length ? types : [''])];
  return (await fastRows(db, statement, params)).length > 0;
}

/** Extends a running job's lease; false if this worker no longer holds it (expired and taken
 *  over, or the job was canceled). */
export async function heartbeat(db: Knex, jobId: string, workerId: string, leaseMs: number): Promise<boolean> {
  const now = clusterNow();
  return (await fastRun(db, HEARTBEAT, [iso(now + leaseMs), iso(now), jobId, workerId])) > 0;
}

const HEARTBEAT = sql('update "jobs" set "lease_expires_at" = ?, "updated_at" = ? where "id" = ? and "lease_owner" = ? and "status" = \'running\'');
const COMPLETE = sql(
  'update "jobs" set "status" = \'succeeded\', "result" = ?, "lease_owner" = null, "lease_expires_at" = null, "last_error" = null,'
  + ' "finished_at" = ?, "updated_at" = ? where "id" = ? and "lease_owner" = ? and "status" = \'running\'',
);

/**
 * Marks the job succeeded (as `completeJob`) and claims up to `limit` due jobs (as `claimBatch`)
 * in one transaction: on SQLite one commit instead of two, synchronously on the idle connection;
 * on PostgreSQL one statement, one round trip. A worker fills the slot its finished job frees.
 */
export async function completeAndClaim(
  db: Knex, jobId: string, result: unknown, options: ClaimOptions, limit: number,
): Promise<{ completed: boolean; jobs: Job[] }> {
  const { completed, jobs } = await completeManyAndClaim(db, [{ jobId, resultJson: resultJson(result) }], options, limit);
  return { completed: completed[0]!, jobs };
}

/** A finished job and its result, already serialised (`resultJson`), for `completeManyAndClaim`. */
export interface Completion { jobId: string; resultJson: string }

/** A job's result as stored; throws for what JSON cannot hold (a BigInt, a cycle). */
export function resultJson(result: unknown): string {
  return JSON.stringify(result ?? null);
}

/**
 * Group commit: marks several of this worker's jobs succeeded and claims up to `limit` due jobs,
 * all in one transaction (one commit on SQLite, one statement on PostgreSQL). Each completion is
 * guarded as `completeJob` alone: `completed[i]` says whether the i-th was still this worker's.
 * All or nothing: if it throws, none of it happened (the caller may retry the jobs one by one).
 */
export async function completeManyAndClaim(
  db: Knex, items: readonly Completion[], options: ClaimOptions, limit: number,
): Promise<{ completed: boolean[]; jobs: Job[] }> {
  const results = items.map((it) => it.resultJson);
  if (limit < 1 && items.length === 1) return { completed: [await completeJobJson(db, items[0]!.jobId, options.workerId, results[0]!)], jobs: [] };
  const now = options.now ?? clusterDate();
  const nowIso = iso(now);
  const { params, typeCount, postgres } = claimParams(db, options, now);
  const take = Math.max(0, Math.trunc(limit));
  // PostgreSQL: FOR UPDATE locks a row that was queued in the statement's snapshot even when
  // another worker has claimed it since (it is then skipped, but stays locked until the statement
  // ends). Were those locks taken before this statement's completions ran, two workers could each
  // hold a row the other is completing: a deadlock (seen in the queue bench under load). So the
  // pick reads the completions' CTE and runs after them; a completion then waits only for a claim
  // that waits for nothing.
  const claimed = take > 0 ? claimStatement(postgres, typeCount, take, postgres ? 'done' : undefined) : null;
  if (postgres) return pgCompleteManyAndClaim(db, items, results, nowIso, options.workerId, claimed, params);
  // SQLite: one unit of the shared group commit (src/db/sqlite-group.ts), so the group shares its
  // transaction with the other units (other workers' groups, ledger moves) started in this turn.
  return sqliteGroupWork(db, (q) => {
    const completed = items.map((it, i) => q.run(COMPLETE, [results[i], nowIso, nowIso, it.jobId, options.workerId]) > 0);
    return { completed, jobs: claimed ? byRunAt(q.rows(claimed, params)) : [] };
  });
}

async function pgCompleteManyAndClaim(
  db: Knex, items: readonly Completion[], results: string[], nowIso: string, workerId: string, claimed: Sql | null, claimParamValues: unknown[],
): Promise<{ completed: boolean[]; jobs: Job[] }> {
  if (items.length === 1 && claimed) {
    const rows = await fastRows(db, completeAndClaimStatement(claimed), [results[0], nowIso, nowIso, items[0]!.jobId, workerId, ...claimParamValues]);
    return { completed: [Number(rows[0]?.completed ?? 0) > 0], jobs: byRunAt(rows.filter((r) => r.id !== null)) };
  }
  const ids = items.map((it) => it.jobId);
  const statement = completeManyStatement(claimed);
  const rows = await fastRows(db, statement, [nowIso, nowIso, ids, results, workerId, ...(claimed ? claimParamValues : [])]);
  const done = new Set((rows[0]?.completed_ids as string[] | null) ?? []);
  return { completed: ids.map((id) => done.has(id)), jobs: claimed ? byRunAt(rows.filter((r) => r.id !== null)) : [] };
}

const fusedStatements = new Map<Sql, Sql>();
/** PostgreSQL: the completion and the claim as data-modifying CTEs of one statement; at least one
 *  row comes back (with null job columns when nothing was claimed) to carry the completion. */
function completeAndClaimStatement(claimed: Sql): Sql {
  let statement = fusedStatements.get(claimed);
  if (!statement) {
    statement = sql(`with "done" as (${COMPLETE.text} returning 1), "claimed" as (${claimed.text})`
      + ' select (select count(*) from "done") as "completed", "c".* from (select 1) as "one" left join "claimed" as "c" on true');
    if (fusedStatements.size < 200) fusedStatements.set(claimed, statement);
  }
  return statement;
}

const COMPLETE_MANY = 'update "jobs" set "status" = \'succeeded\', "result" = "i"."result", "lease_owner" = null, "lease_expires_at" = null,'
  + ' "last_error" = null, "finished_at" = ?, "updated_at" = ? from unnest(?::text[], ?::text[]) as "i"("id", "result")'
  + ' where "jobs"."id" = "i"."id" and "jobs"."lease_owner" = ? and "jobs"."status" = \'running\' returning "jobs"."id"';
const NO_CLAIM = sql(`with "done" as (${COMPLETE_MANY}) select (select array_agg("id") from "done") as "completed_ids"`);
const groupStatements = new Map<Sql, Sql>();
/** PostgreSQL: several completions (ids and results as two arrays) and the claim in one statement;
 *  the ids that were completed come back as an array on the first row. */
function completeManyStatement(claimed: Sql | null): Sql {
  if (!claimed) return NO_CLAIM;
  let statement = groupStatements.get(claimed);
  if (!statement) {
    statement = sql(`with "done" as (${COMPLETE_MANY}), "claimed" as (${claimed.text})`
      + ' select (select array_agg("id") from "done") as "completed_ids", "c".* from (select 1) as "one" left join "claimed" as "c" on true');
    if (groupStatements.size < 200) groupStatements.set(claimed, statement);
  }
  return statement;
}

/** Marks the job succeeded with its result, if this worker still holds it. */
export async function completeJob(db: Db, jobId: string, workerId: string, result: unknown): Promise<boolean> {
  return completeJobJson(db, jobId, workerId, resultJson(result));
}

/** `completeJob` with the result already serialised. */
export async function completeJobJson(db: Db, jobId: string, workerId: string, json: string): Promise<boolean> {
  const now = iso(clusterNow());
  return (await fastRun(db, COMPLETE, [json, now, now, jobId, workerId])) > 0;
}

/** Puts the job back in the queue to run at `runAt`, if this worker still holds it.
 *  `refundAttempt` gives the attempt back (the run was interrupted, not failed: worker stopping);
 *  `waitingFor` names the peer whose outage it waits out (src/jobs/waits.ts). */
export async function requeueJob(
  db: Db, jobId: string, workerId: string, error: string | null, runAt: Date, refundAttempt = false, waitingFor: string | null = null,
): Promise<boolean> {
  const now = iso(clusterNow());
  const n = await db('jobs')
    .where({ id: jobId, lease_owner: workerId, status: 'running' })
    .update({
      status: 'queued',
      run_at: iso(runAt),
      lease_owner: null,
      lease_expires_at: null,
      last_error: error,
      waiting_for: waitingFor,
      updated_at: now,
      ...(refundAttempt ? { attempts: db.raw('case when attempts > 0 then attempts - 1 else 0 end') } : {}),
    });
  return Number(n) > 0;
}

export type FailureReason = 'permanent' | 'exhausted' | 'lease_expired';

export interface JobFailure {
  reason: FailureReason;
  message: string;
  error?: unknown;
}

/**
 * Runs in the transaction that marks the job failed: whatever it writes (releasing the job's
 * credit reservation, say) commits together with the failure or not at all. If it throws, the
 * job stays running until its lease expires and the failure is retried then by the reaper, so
 * a failure is never recorded without its hook having run. It must use `trx`, not another
 * handle (on SQLite another handle would wait for this very transaction).
 */
export type FailureHook<P = any> = (job: Job<P>, failure: JobFailure, trx: Knex.Transaction) => Promise<void> | void;

/**
 * Marks a running job failed and runs the failure hook in the same transaction. `guard`
 * states who may do it: the lease owner, or (for a dead worker's job) anyone who sees the lease
 * expired as of `expiredBefore`. Returns the failed job, or null if someone else got there first.
 */
export async function failJob(
  db: Knex,
  jobId: string,
  guard: { workerId: string } | { expiredBefore: Date; leaseOwner: string | null; leaseExpiresAt?: string | null },
  failure: JobFailure,
  hook?: FailureHook,
): Promise<Job | null> {
  return db.transaction(async (trx) => {
    const now = iso(clusterNow());
    const q = trx('jobs').where({ id: jobId, status: 'running' });
    if ('workerId' in guard) q.andWhere({ lease_owner: guard.workerId });
    else {
      q.andWhere('lease_expires_at', '<', iso(guard.expiredBefore));
      if (guard.leaseOwner) q.andWhere({ lease_owner: guard.leaseOwner });
      if (guard.leaseExpiresAt) q.andWhere({ lease_expires_at: guard.leaseExpiresAt });
    }
    const rows = (await q.update({
      status: 'failed',
      lease_owner: null,
      lease_expires_at: null,
      last_error: failure.message,
      finished_at: now,
      updated_at: now,
    }).returning(RETURNING)) as Array<Record<string, unknown>>;
    if (!rows[0]) return null;
    const job = toJob(rows[0]);
    if (hook) await hook(job, failure, trx);
    return job;
  });
}

/**
 * Deals with running jobs whose lease expired (their worker died or hung): back to the queue
 * if attempts remain, else failed with the failure hook. Safe to run from every worker at once.
 * Returns how many jobs it requeued and failed.
 */
export async function reapExpiredLeases(
  db: Knex,
  options: {
    now?: Date;
    hookFor?: (job: Job) => FailureHook | undefined;
    limit?: number;
    /**
     * Only jobs of these types: a worker reaps what it has handlers (and so failure hooks) for.
     * A worker of another lane failing a generation's job would skip the hook that releases its
     * credits and fails its scene.
     */
    types?: string[];
    /** Take over only leases this reaper has seen expired and unchanged (expiry and owner) for
     *  its confirmMs (a worker's reaper passes its own); without it, every expired lease at once. */
    sightings?: Sightings;
  } = {},
): Promise<{ requeued: number; failed: number }> {
  const now = options.now ?? clusterDate();
  const nowIso = iso(now);
  const expired = (await db('jobs')
    .where({ status: 'running' })
    .andWhere('lease_expires_at', '<', nowIso)
    .modify((q) => { if (options.types) q.whereIn('type', options.types); })
    .orderBy('lease_expires_at')
    .limit(options.limit ?? 100)
    .select(RETURNING)) as Array<Record<string, unknown>>;
  const jobs = expired.map((row) => toJob(row));
  let requeued = 0;
  let failed = 0;
  for (const job of options.sightings ? unchangedLeases(options.sightings, jobs) : jobs) {
    const message = `lease expired: worker ${job.lease_owner ?? '?'} stopped heartbeating during attempt ${job.attempts}`;
    if (job.attempts < job.max_attempts) {
      const n = await db('jobs')
        // The very lease seen expired: a heartbeat since then (even one still behind this
        // clock) means its holder lives.
        .where({ id: job.id, status: 'running', lease_owner: job.lease_owner, lease_expires_at: job.lease_expires_at })
        .andWhere('lease_expires_at', '<', nowIso)
        .update({ status: 'queued', run_at: nowIso, lease_owner: null, lease_expires_at: null, last_error: message, waiting_for: null, updated_at: nowIso });
      if (Number(n) > 0) requeued++;
    } else {
      const done = await failJob(
        db, job.id, { expiredBefore: now, leaseOwner: job.lease_owner, leaseExpiresAt: job.lease_expires_at },
        { reason: 'lease_expired', message }, options.hookFor?.(job),
      );
      if (done) failed++;
    }
  }
  return { requeued, failed };
}

/** Of these expired jobs, the ones whose lease `sightings` has seen unchanged for its confirmMs;
 *  sightings of jobs no longer among them are forgotten. */
function unchangedLeases(sightings: Sightings, jobs: Job[]): Job[] {
  const out = jobs.filter((job) => sightings.confirmed(job.id, JSON.stringify([job.lease_expires_at, job.lease_owner])));
  sightings.keepOnly(new Set(jobs.map((job) => job.id)));
  return out;
}

/**
 * Cancels a queued or running job (pass a transaction to cancel atomically with other changes,
 * such as releasing the job's reservation). A running job's worker notices at its next
 * heartbeat and aborts `ctx.signal`; whatever the handler then returns is discarded.
 * Returns the canceled job, or null if it was not queued or running.
 */
export async function cancelJob(db: Db, jobId: string, reason = 'canceled'): Promise<Job | null> {
  const now = iso(clusterNow());
  const rows = (await db('jobs')
    .where({ id: jobId })
    .whereIn('status', ['queued', 'running'])
    .update({ status: 'canceled', lease_owner: null, lease_expires_at: null, last_error: reason, finished_at: now, updated_at: now })
    .returning(RETURNING)) as Array<Record<string, unknown>>;
  return rows[0] ? toJob(rows[0]) : null;
}

/**
 * Takes the job row's lock for the rest of `trx`, so a caller can keep the queue's lock order
 * (job row first, then what its failure hook touches). SQLite write transactions already hold
 * the whole database (BEGIN IMMEDIATE), so there it does nothing.
 */
export async function lockJob(trx: Db, jobId: string): Promise<void> {
  if (dbKind(trx) === 'postgres') await trx('jobs').where({ id: jobId }).forUpdate().select('id');
}

export async function getJob<P = unknown>(db: Db, jobId: string): Promise<Job<P> | null> {
  const row = await db('jobs').where({ id: jobId }).first();
  return row ? toJob<P>(row) : null;
}

/** How many jobs wait (queued, due or not) and run. Each count reads only its state's partial
 *  index (migration 018); `status in (...)` would read the whole table, finished jobs included. */
export async function queueDepth(db: Db): Promise<{ queued: number; running: number }> {
  const [row] = await fastRows(db, DEPTH, []);
  return { queued: Number(row?.queued ?? 0), running: Number(row?.running ?? 0) };
}

const DEPTH = sql('select (select count(*) from "jobs" where "status" = \'queued\') as "queued",'
  + ' (select count(*) from "jobs" where "status" = \'running\') as "running"');

/** Exponential backoff with jitter: attempt 1 waits ~base, 2 ~2x base, ... capped at maxMs; the
 *  delay is drawn from [d/2, d] so retries of jobs that failed together spread out. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const d = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(d / 2 + random() * (d / 2));
}
