import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FreshDb } from './db.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const script = path.join(here, 'job-worker-child.ts');

export interface WorkerProcess {
  child: ChildProcess;
  workerId: string;
  /** Resolves once the child prints `ready`. */
  ready: Promise<void>;
  /** Resolves with the exit code or signal. */
  exited: Promise<number | string>;
  /** SIGTERM and wait (graceful). */
  stop(): Promise<number | string>;
  /** SIGKILL and wait: a crash, nothing gets to clean up. */
  kill9(): Promise<number | string>;
}

/** Starts test/helpers/job-worker-child.ts on the same database as `fresh`. */
export function spawnWorker(
  fresh: FreshDb,
  opts: {
    workerId: string; log: string; concurrency?: number; leaseMs?: number; pollMs?: number;
    /** Extra environment (e.g. CLOCK_STEP_MS for `preload`). */
    env?: Record<string, string>;
    /** A module imported first (`node --import`), e.g. test/helpers/clock-step.mjs. */
    preload?: string;
    /** Another child than test/helpers/job-worker-child.ts that prints `ready` as it does. */
    script?: string;
  },
): WorkerProcess {
  const child = spawn(process.execPath, [...(opts.preload ? ['--import', opts.preload] : []), '--import', 'tsx', opts.script ?? script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: fresh.databaseUrl ?? '',
      LAVENDLY_DATA_DIR: fresh.dataDir,
      WORKER_ID: opts.workerId,
      JOB_LOG: opts.log,
      CONCURRENCY: String(opts.concurrency ?? 2),
      LEASE_MS: String(opts.leaseMs ?? 2000),
      POLL_MS: String(opts.pollMs ?? 20),
      ...opts.env,
    },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += String(d); });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('ready')) resolve();
    });
    void exited.then((c) => reject(new Error(`worker ${opts.workerId} exited (${c}) before ready: ${stderr}`)));
  });
  ready.catch(() => {});
  return {
    child,
    workerId: opts.workerId,
    ready,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** The lines of a job log, split into words: [event, jobId, workerId, attempt-or-reason]. */
export function readJobLog(file: string): string[][] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' '));
}
