// Two webhook runners (worker and sweeper each) share a clock (the machine's on SQLite, the
// database server's on PostgreSQL) that steps forward more than a delivery's lock (its timeout
// plus 30 s) while one of them waits on the receiver. The lock looked expired at once, the other
// runner's sweeper took the delivery and sent the same attempt again: the customer's endpoint got
// the event twice. A runner now renews its lock while its attempt is out, and a lock is taken over
// only once it has been seen expired and unchanged for longer than a renewal period; a dead
// runner's delivery is still taken over and sent.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/knex.js';
import { nowIso } from '../../src/db/knex.js';
import { createEndpoint, emitEvent, getDelivery } from '../../src/webhooks/index.js';
import { checkedDbPerTest } from '../helpers/checked-db.js';
import { testDatabases, type FreshDb } from '../helpers/db.js';
import { spawnWorker, type WorkerProcess } from '../helpers/job-processes.js';
import { startReceiver, type Receiver } from './receiver.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const stepPreload = path.join(here, '../helpers/clock-step.mjs');
const runnerScript = path.join(here, 'webhook-runner-child.ts');
const ACCOUNT = 'acc_lock_step';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false): Promise<T> {
  for (let i = 0; i < 1600; i++) {
    const v = await fn();
    if (v) return v;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** SIGUSR2 to a runner started with the step preload; resolves once its clock has moved. */
function stepClock(p: WorkerProcess): Promise<void> {
  const stepped = new Promise<void>((resolve) => {
    p.child.stdout!.on('data', (d) => { if (String(d).includes('clock stepped')) resolve(); });
  });
  p.child.kill('SIGUSR2');
  return stepped;
}

describe.each(testDatabases())('a shared clock stepping forward while a webhook is out, on %s', (kind) => {
  let f: FreshDb;
  let db: Db;
  let receiver: Receiver | undefined;
  const runners: WorkerProcess[] = [];
  let release = () => {};
  checkedDbPerTest(kind, {
    onFresh: (fresh) => { f = fresh; db = fresh.db; },
    beforeCheck: async () => {
      release();
      await Promise.all(runners.splice(0).map((p) => p.kill9()));
      await receiver?.close();
    },
  });

  it('sends the attempt once while its runner lives, and again once it has died', async () => {
    const held = new Promise<number>((resolve) => { release = () => resolve(200); });
    // The first request is held open (the receiver is slow); later ones are answered at once.
    receiver = await startReceiver((n) => (n === 1 ? held : 200));
    await db('accounts').insert({ id: ACCOUNT, name: 'lock step', created_at: nowIso() });
    await createEndpoint(db, { accountId: ACCOUNT, url: receiver.url, events: ['render.succeeded'] }, { addressPolicy: { allowLoopback: true } });
    for (const id of ['a', 'b']) {
      runners.push(spawnWorker(f, {
        workerId: id, log: path.join(f.dataDir, 'jobs.log'), script: runnerScript, preload: stepPreload,
        env: { CLOCK_STEP_MS: '120000', SWEEP_MS: '100', LOCK_MS: '1000' },
      }));
    }
    await Promise.all(runners.map((r) => r.ready));
    const { deliveryIds: [deliveryId] } = await db.transaction((trx) =>
      emitEvent(trx, { accountId: ACCOUNT, type: 'render.succeeded', payload: { render_id: 'rnd_1' } }));
    await until('the first attempt to reach the receiver', () => receiver!.requests.length === 1);
    const holder = runners.find((r) => receiver!.requests[0]!.headers['user-agent'] === `runner/${r.workerId}`)!;

    // Two minutes forward, past the lock (40 s by default, 1 s here): the other runner's sweeper looks every 100 ms.
    await Promise.all(runners.map(stepClock));
    await sleep(3_000);
    expect(receiver.requests.map((r) => r.headers['user-agent'])).toEqual([`runner/${holder.workerId}`]);

    // The holder dies with its attempt out: the other runner takes the delivery over and sends it.
    await holder.kill9();
    const other = runners.find((r) => r !== holder)!;
    await until('the delivery to succeed', async () => (await getDelivery(db, ACCOUNT, deliveryId!)).status === 'succeeded');
    expect(receiver.requests.map((r) => r.headers['user-agent'])).toEqual([`runner/${holder.workerId}`, `runner/${other.workerId}`]);
    expect(await getDelivery(db, ACCOUNT, deliveryId!)).toMatchObject({ attempt: 1, response_status: 200 });
  }, 120_000);
});
