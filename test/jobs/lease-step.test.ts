// A clock every process shares (the machine's on SQLite, the database server's on PostgreSQL)
// stepping forward makes every live lease look expired at once. The reaper took a live worker's
// job before that worker's next heartbeat (due within a third of the lease) and ran it again.
// A reaper now takes a lease over only once it has watched it stay expired and unchanged for
// longer than a heartbeat period; a dead worker's job is still taken over.
import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/knex.js';
import { claim, enqueue, getJob, heartbeat, Worker } from '../../src/jobs/index.js';
import { checkedDbPerTest } from '../helpers/checked-db.js';
import { testDatabases } from '../helpers/db.js';
import { restoreWallClock, stepWallClock } from '../helpers/wall-clock.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LEASE_MS = 2_000; // heartbeats every 666 ms

describe.each(testDatabases())('a shared clock stepping forward on %s', (kind) => {
  let db: Db;
  let worker: Worker | undefined;
  checkedDbPerTest(kind, {
    onFresh: (fresh) => { db = fresh.db; },
    beforeCheck: async () => { await worker?.stop(); worker = undefined; },
  });
  afterEach(() => { restoreWallClock(); });

  it('leaves a live holder\'s job alone and still takes a dead holder\'s over', async () => {
    const job = await enqueue(db, { type: 'record', payload: null });
    expect((await claim(db, { workerId: 'live', leaseMs: LEASE_MS }))?.id).toBe(job.id);
    stepWallClock(60_000); // the clock steps: the lease looks a minute expired

    const ran: string[] = [];
    worker = new Worker({ db, pollMs: 10, reapMs: 20, leaseMs: LEASE_MS, workerId: 'reaper', handlers: { record: async (j) => { ran.push(j.id); return null; } } });
    worker.start();
    // The holder's next heartbeat comes a heartbeat period after the step at most; meanwhile
    // the reaper has looked a dozen times or more. Then it keeps heartbeating for two leases.
    await sleep(LEASE_MS / 3);
    for (let i = 0; i < 8; i++) {
      expect(await heartbeat(db, job.id, 'live', LEASE_MS)).toBe(true);
      await sleep(LEASE_MS / 4);
    }
    expect(ran).toEqual([]);
    expect(await getJob(db, job.id)).toMatchObject({ status: 'running', lease_owner: 'live', attempts: 1 });

    // The holder dies: its lease expires and stays as it was, and the reaper takes the job over.
    for (let i = 0; i < 400 && ran.length === 0; i++) await sleep(25);
    expect(ran).toEqual([job.id]);
    expect(await getJob(db, job.id)).toMatchObject({ attempts: 2 });
  });
});
