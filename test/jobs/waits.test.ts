/**
 * `jobWaits`: what a client reads as a scene's or a render's `waiting`. Only a job put back after
 * a run, whose next run is still ahead, waits; the outage requeue names its peer, an ordinary
 * retry says which attempt failed, and neither repeats the attempt's own error (it may name hosts).
 */
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/knex.js';
import { claim, enqueue, jobWaits, reapExpiredLeases } from '../../src/jobs/index.js';
import { requeueJob } from '../../src/jobs/queue.js';
import { testDatabases } from '../helpers/db.js';
import { checkedDbPerTest } from '../helpers/checked-db.js';

describe.each(testDatabases())('job waits on %s', (kind) => {
  let db: Db;
  checkedDbPerTest(kind, { onFresh: (fresh) => { db = fresh.db; } });

  const claimed = async (type: string) => {
    const job = await enqueue(db, { type, payload: null, maxAttempts: 3 });
    expect((await claim(db, { workerId: 'w', leaseMs: 60_000, types: [type] }))?.id).toBe(job.id);
    return job.id;
  };

  it('names the peer of an outage, the attempt of a retry, and nothing for jobs that do not wait', async () => {
    const later = new Date(Date.now() + 60_000);
    const outage = await claimed('a');
    await requeueJob(db, outage, 'w', 'connect ECONNREFUSED 10.1.2.3:9000', later, true, 'storage');
    const retry = await claimed('b');
    await requeueJob(db, retry, 'w', 'provider said no at /srv/secret', later);
    const dueNow = await claimed('c');
    await requeueJob(db, dueNow, 'w', 'boom', new Date(Date.now() - 1000));
    const running = await claimed('d');
    const fresh = (await enqueue(db, { type: 'e', payload: null, runAt: later })).id;

    const waits = await jobWaits(db, [outage, retry, dueNow, running, fresh, null, 'job_missing']);
    expect([...waits.keys()].sort()).toEqual([outage, retry].sort());
    expect(waits.get(outage)).toEqual({
      reason: 'storage_unavailable',
      message: 'The media store is not answering; the work waits for it and carries on by itself once it is back.',
      next_attempt_at: later.toISOString(),
    });
    expect(waits.get(retry)).toEqual({
      reason: 'retrying', message: 'Attempt 1 of 3 failed; it will be tried again.', next_attempt_at: later.toISOString(),
    });
    expect(JSON.stringify([...waits.values()])).not.toMatch(/10\.1\.2\.3|secret|ECONNREFUSED/);
  });

  it('forgets the outage once the job is put back for another reason', async () => {
    const id = await claimed('a');
    await requeueJob(db, id, 'w', 'store down', new Date(Date.now() - 1), true, 'storage');
    expect((await claim(db, { workerId: 'w', leaseMs: 60_000, types: ['a'] }))?.id).toBe(id);
    await requeueJob(db, id, 'w', 'provider timeout', new Date(Date.now() + 60_000));
    expect((await jobWaits(db, [id])).get(id)?.reason).toBe('retrying');

    // A lease that ran out puts the job back due at once: no wait, and no stale peer for later.
    const reaped = await claimed('b');
    await requeueJob(db, reaped, 'w', 'store down', new Date(Date.now() - 1), true, 'storage');
    await claim(db, { workerId: 'w2', leaseMs: 1, types: ['b'] });
    await new Promise((r) => setTimeout(r, 20));
    expect((await reapExpiredLeases(db)).requeued).toBe(1);
    expect((await db('jobs').where({ id: reaped }).first('waiting_for')).waiting_for).toBeNull();
  });
});
