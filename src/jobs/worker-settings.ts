/**
 * Job worker tuning from the environment:
 *   LAVENDLY_WORKER_CONCURRENCY (default 2)  generation, render and other jobs run at once by this process
 *   LAVENDLY_WORKER_WEBHOOK_CONCURRENCY (default 4)  webhook deliveries run at once, on slots of their own
 *   LAVENDLY_WORKER_LEASE_MS (default 30000) a dead worker's job runs again this long after its last heartbeat (plus half of it, see Worker)
 *   LAVENDLY_WORKER_POLL_MS (default 500)    idle poll period
 *   LAVENDLY_WORKER_FILE_SWEEP_MS (default 600000)  how often the worker sweeps unfinished temporary files
 *   LAVENDLY_WORKER_PARTIAL_AGE_MS (default 900000) a `.partial-` file goes once this old by mtime and seen unchanged this long
 *   LAVENDLY_SERVE_WORKER=0                  `serve` runs the API only
 */
export interface WorkerSettings {
  concurrency: number;
  /** Slots for webhook deliveries, apart from `concurrency`: a receiver that never answers holds
   *  one for the whole delivery timeout, and must not hold up anyone's generation. */
  webhookConcurrency: number;
  leaseMs: number;
  pollMs: number;
  /** Period of the sweep of temporary files (storage.sweepPartials, sweepStaging), first at start. */
  fileSweepMs: number;
  /**
   * A `.partial-` file is removed once untouched (mtime) this long and seen unchanged by the
   * worker's sweeps for as long on the monotonic clock: a live write changes its file well
   * within it (ffmpeg is killed after 10 minutes). Shorter only where no write pauses that long.
   */
  partialAgeMs: number;
  /** Whether `serve` runs a worker beside the API. */
  besideServe: boolean;
}

/** The longest delay Node's timers take; a longer poll or heartbeat would fire every 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ''} (got ${raw})`);
  }
  return n;
}

/** LAVENDLY_SERVE_WORKER: `0` or `1`; anything else (`false`, `off`) used to mean 1, silently. */
function serveWorker(raw: string | undefined): boolean {
  if (raw === undefined || raw === '' || raw === '1') return true;
  if (raw === '0') return false;
  throw new Error(`LAVENDLY_SERVE_WORKER must be 0 or 1 (got '${raw}')`);
}

export function workerSettingsFromEnv(env: NodeJS.ProcessEnv): WorkerSettings {
  return {
    concurrency: intFromEnv(env, 'LAVENDLY_WORKER_CONCURRENCY', 2, 1),
    webhookConcurrency: intFromEnv(env, 'LAVENDLY_WORKER_WEBHOOK_CONCURRENCY', 4, 1),
    leaseMs: intFromEnv(env, 'LAVENDLY_WORKER_LEASE_MS', 30_000, 300, MAX_TIMER_MS),
    pollMs: intFromEnv(env, 'LAVENDLY_WORKER_POLL_MS', 500, 5, MAX_TIMER_MS),
    fileSweepMs: intFromEnv(env, 'LAVENDLY_WORKER_FILE_SWEEP_MS', 10 * 60_000, 10, MAX_TIMER_MS),
    partialAgeMs: intFromEnv(env, 'LAVENDLY_WORKER_PARTIAL_AGE_MS', 15 * 60_000, 1),
    besideServe: serveWorker(env.LAVENDLY_SERVE_WORKER),
  };
}
