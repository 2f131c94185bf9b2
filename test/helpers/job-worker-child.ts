/**
 * A worker process for the cross-process tests: opens the database named by DATABASE_URL (or the
 * SQLite file under LAVENDLY_DATA_DIR) and runs a Worker with test handlers. Each handler appends
 * what it does to JOB_LOG (one short line per append, so lines from several processes never
 * interleave). Prints `ready <workerId>` once it is polling; exits 0 after SIGTERM.
 *
 *   node --import tsx test/helpers/job-worker-child.ts
 */
import fs from 'node:fs';
import { runWorker } from '../../src/jobs/worker-main.js';
import type { Job, JobContext } from '../../src/jobs/index.js';
import { commit, release, reserve, InsufficientCreditsError, ReservationNotOpenError } from '../../src/ledger/index.js';

const env = process.env;
const workerId = env.WORKER_ID ?? `child-${process.pid}`;
const logFile = env.JOB_LOG!;
const log = (line: string) => fs.appendFileSync(logFile, `${line}\n`);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
}

type RecordPayload = { sleepMs?: number; sleepOnAttempt?: number };
/** `at`: wall-clock ms to start at, so that racing operations in several processes line up. */
type LedgerPayload = { op: 'reserve' | 'commit' | 'release'; accountId?: string; amount?: number; reservationId?: string; at?: number };
type HoldPayload = { reservationId: string; sleepMs: number; sleepOnAttempt: number };

const running = await runWorker({
  config: { databaseUrl: env.DATABASE_URL || null, dataDir: env.LAVENDLY_DATA_DIR! },
  workerId,
  concurrency: Number(env.CONCURRENCY ?? 2),
  leaseMs: Number(env.LEASE_MS ?? 2000),
  pollMs: Number(env.POLL_MS ?? 20),
  sweepReservationsMs: null,
  handlers: {
    /** Records each run; optionally sleeps (on one attempt only) so a test can kill it mid-job. */
    record: async (job: Job<RecordPayload>, ctx: JobContext) => {
      log(`start ${job.id} ${workerId} ${ctx.attempt}`);
      const p = job.payload ?? {};
      if (p.sleepMs && (p.sleepOnAttempt === undefined || p.sleepOnAttempt === ctx.attempt)) await sleep(p.sleepMs, ctx.signal);
      log(`done ${job.id} ${workerId} ${ctx.attempt}`);
      return { worker: workerId };
    },
    /** One ledger operation; losing a race is an answer, not a job failure. */
    ledger: async (job: Job<LedgerPayload>, ctx: JobContext) => {
      const p = job.payload;
      if (p.at) await sleep(Math.max(0, p.at - Date.now()), ctx.signal);
      const t0 = Date.now();
      try {
        if (p.op === 'reserve') await reserve(ctx.db, p.accountId!, p.amount ?? 1);
        else if (p.op === 'commit') await commit(ctx.db, p.reservationId!, p.amount);
        else await release(ctx.db, p.reservationId!);
        return { won: true, worker: workerId, t0, t1: Date.now() };
      } catch (err) {
        if (err instanceof InsufficientCreditsError || err instanceof ReservationNotOpenError) {
          return { won: false, worker: workerId, code: err.code, t0, t1: Date.now() };
        }
        throw err;
      }
    },
    /** A paid job: works (sleeping on one attempt so it can be killed), then charges its
     *  reservation. Idempotent: a charge already made by an earlier run counts as done. If the
     *  job finally fails (even by its worker dying), the reservation is released. */
    hold: {
      run: async (job: Job<HoldPayload>, ctx: JobContext) => {
        log(`start ${job.id} ${workerId} ${ctx.attempt}`);
        if (ctx.attempt === job.payload.sleepOnAttempt) await sleep(job.payload.sleepMs, ctx.signal);
        try {
          await commit(ctx.db, job.payload.reservationId);
        } catch (err) {
          if (!(err instanceof ReservationNotOpenError && err.reservationStatus === 'committed')) throw err;
        }
        log(`done ${job.id} ${workerId} ${ctx.attempt}`);
        return { charged: job.payload.reservationId };
      },
      onFailed: async (job: Job<HoldPayload>, failure, trx) => {
        log(`failed ${job.id} ${workerId} ${failure.reason}`);
        try {
          await release(trx, job.payload.reservationId);
        } catch (err) {
          if (!(err instanceof ReservationNotOpenError)) throw err;
        }
      },
    },
  },
  logger: {
    info: () => {},
    warn: (o, m) => { if (env.CHILD_VERBOSE) console.error(workerId, m, o); },
    error: (o, m) => console.error(workerId, m, o),
  },
});

process.on('SIGTERM', () => {
  void running.stop({ abortAfterMs: 2000 }).then(() => process.exit(0));
});
console.log(`ready ${workerId}`);
