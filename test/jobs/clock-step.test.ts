// Workers on several machines share one PostgreSQL, and a machine's clock can step at any moment
// (after the start-up clock check). A worker whose clock stepped a minute ahead saw a live
// worker's lease as expired, put its job back and ran it again; one whose clock stepped back
// wrote leases already expired for everyone else, who took its jobs. Lease times now follow the
// database server's clock, which a local step does not move.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/knex.js';
import { enqueue, getJob } from '../../src/jobs/index.js';
import { checkedDbPerTest } from '../helpers/checked-db.js';
import { testDatabases, type FreshDb } from '../helpers/db.js';
import { readJobLog, spawnWorker, type WorkerProcess } from '../helpers/job-processes.js';

const stepPreload = path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers/clock-step.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false): Promise<T> {
  for (let i = 0; i < 1600; i++) {
    const v = await fn();
    if (v) return v;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** SIGUSR2 to a worker started with the step preload; resolves once its clock has moved. */
function stepClock(p: WorkerProcess): Promise<void> {
  const stepped = new Promise<void>((resolve) => {
    p.child.stdout!.on('data', (d) => { if (String(d).includes('clock stepped')) resolve(); });
  });
  p.child.kill('SIGUSR2');
  return stepped;
}

describe.skipIf(!testDatabases().includes('postgres'))('a worker whose clock steps while it runs (PostgreSQL)', () => {
  let f: FreshDb;
  let db: Db;
  let log: string;
  const procs: WorkerProcess[] = [];
  const spawn = (o: Omit<Parameters<typeof spawnWorker>[1], 'log'>) => {
    const p = spawnWorker(f, { log, ...o });
    procs.push(p);
    return p;
  };
  checkedDbPerTest('postgres', {
    onFresh: (fresh) => { f = fresh; db = fresh.db; log = path.join(fresh.dataDir, 'jobs.log'); },
    beforeCheck: () => Promise.all(procs.splice(0).map((p) => p.kill9())),
  });

  const startsOf = (jobId: string) => readJobLog(log).filter((l) => l[0] === 'start' && l[1] === jobId).map((l) => l[2]);

  // The job runs 4 s: the other worker reaps every 1 s (half the 2 s lease) meanwhile.
  it.each([
    { step: 'a minute ahead', stepMs: 60_000, holder: 'live' },
    { step: 'a minute back', stepMs: -60_000, holder: 'stepped' },
  ])('a worker whose clock stepped $step leaves the holder\'s job alone', async ({ stepMs, holder }) => {
    const spawnLive = () => spawn({ workerId: 'live' });
    const spawnStepped = async () => {
      const p = spawn({ workerId: 'stepped', preload: stepPreload, env: { CLOCK_STEP_MS: String(stepMs) } });
      await p.ready;
      await stepClock(p);
      return p;
    };
    await (holder === 'live' ? spawnLive().ready : spawnStepped());
    const job = await enqueue(db, { type: 'record', payload: { sleepMs: 4_000 } });
    await until('the job to start', () => startsOf(job.id).length > 0);
    await (holder === 'live' ? spawnStepped() : spawnLive().ready);
    await until('the job to finish', async () => (await getJob(db, job.id))?.status === 'succeeded');
    expect(startsOf(job.id)).toEqual([holder]);
    expect((await getJob(db, job.id))?.attempts).toBe(1);
  });
});
