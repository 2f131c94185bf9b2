import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createDb, nowIso, type Db } from '../../src/db/knex.js';
import { Worker } from '../../src/jobs/index.js';
import {
  connectChannel, createPublishers, getPublication, publishJobHandlers, requestPublication, startSweeper, type Publishers,
} from '../../src/publish/index.js';
import { createEndpoint, emitEvent, getDelivery, webhookJobHandlers } from '../../src/webhooks/index.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { startReceiver } from '../webhooks/receiver.js';

const ACCOUNT = 'acc_sched';
const secrets = { secretKey: 'scheduler-test-key' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe.each(testDatabases())('scheduled work on the job queue (%s)', (kind) => {
  let fresh: FreshDb;
  const handles: Db[] = [];
  const workers: Worker[] = [];
  beforeEach(async () => {
    fresh = await freshDb(kind);
    await fresh.db('accounts').insert({ id: ACCOUNT, name: 'sched', created_at: nowIso() });
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await Promise.all(handles.splice(0).map((h) => h.destroy()));
    await fresh.close();
  });
  function handle(): Db {
    const db = createDb({ databaseUrl: fresh.databaseUrl, dataDir: fresh.dataDir });
    handles.push(db);
    return db;
  }

  it('publishes a post scheduled 1 s ahead exactly once, after a restart, with two workers', async () => {
    const videoPath = path.join(fresh.dataDir, 'final.mp4');
    fs.writeFileSync(videoPath, crypto.randomBytes(10_000));
    const local = createPublishers({ dataDir: fresh.dataDir }).local;
    let calls = 0;
    const publishers = { local: { platform: 'local', publish: (r) => { calls++; return local.publish(r); } } } as Publishers;

    // "Before the restart": the API process schedules the post, then goes away before it fires.
    const api = handle();
    const ch = await connectChannel(api, { accountId: ACCOUNT, platform: 'local', name: 'folder', credentials: {} }, secrets);
    const when = new Date(Date.now() + 1_000).toISOString();
    const pub = await requestPublication(api, {
      accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id, title: 'Fox', when,
      latestRender: { id: 'rnd_1', status: 'succeeded', path: videoPath },
    }, { publishers, secrets });
    expect(pub).toMatchObject({ status: 'scheduled', scheduled_for: when });
    await api.destroy();
    handles.splice(handles.indexOf(api), 1);

    // "After the restart": two workers, each with its own connection pool.
    for (const db of [handle(), handle()]) {
      const worker = new Worker({ db, handlers: publishJobHandlers({ publishers, secrets }), pollMs: 50, leaseMs: 5_000, concurrency: 2 });
      worker.start();
      workers.push(worker);
    }
    const done = await until('the post', async () => {
      const p = await getPublication(fresh.db, ACCOUNT, pub.id);
      return p.status === 'scheduled' || p.status === 'publishing' ? null : p;
    });
    expect(done.status).toBe('published');
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(when));
    await sleep(300); // let any second claim attempt happen
    expect(calls).toBe(1);
    const jobs = await fresh.db('jobs').where({ type: 'publication.run' }).select('status');
    expect(jobs).toEqual([{ status: 'succeeded' }]);
    expect(fs.readdirSync(path.join(fresh.dataDir, 'published', ch.id))).toEqual([`${pub.id}.mp4`]);
  });

  it('the sweeper publishes due posts whose job was lost', async () => {
    const videoPath = path.join(fresh.dataDir, 'final.mp4');
    fs.writeFileSync(videoPath, crypto.randomBytes(1_000));
    const ch = await connectChannel(fresh.db, { accountId: ACCOUNT, platform: 'local', name: 'folder', credentials: {} }, secrets);
    const pub = await requestPublication(fresh.db, {
      accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id, latestRender: { id: 'rnd_1', path: videoPath },
    }, { secrets });
    await fresh.db('jobs').delete(); // the job is lost
    const sweeper = startSweeper(fresh.db, { publish: { secrets, publishers: createPublishers({ dataDir: fresh.dataDir }) }, intervalMs: 30 });
    try {
      const done = await until('the sweep', async () => {
        const p = await getPublication(fresh.db, ACCOUNT, pub.id);
        return p.status === 'published' ? p : null;
      });
      expect(done.published_url).toMatch(/^file:/);
    } finally {
      await sweeper.stop();
    }
  });

  it('delivers webhooks through the worker on the retry schedule, one webhook-id throughout', async () => {
    const receiver = await startReceiver((n) => (n <= 2 ? 500 : 200));
    try {
      const policy = { allowLoopback: true };
      const endpoint = await createEndpoint(fresh.db, { accountId: ACCOUNT, url: receiver.url, events: ['*'] }, { addressPolicy: policy });
      const { eventId, deliveryIds } = await fresh.db.transaction((trx) =>
        emitEvent(trx, { accountId: ACCOUNT, type: 'render.succeeded', payload: { render_id: 'rnd_9' } }));
      const worker = new Worker({
        db: handle(), pollMs: 20, leaseMs: 5_000,
        handlers: webhookJobHandlers({ retryScheduleMs: [50, 100], jitter: 0.1, timeoutMs: 2_000, addressPolicy: policy }),
      });
      worker.start();
      workers.push(worker);
      const delivery = await until('the delivery', async () => {
        const d = await getDelivery(fresh.db, ACCOUNT, deliveryIds[0]!);
        return d.status === 'pending' ? null : d;
      });
      expect(delivery).toMatchObject({ status: 'succeeded', attempt: 3 });
      expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId, eventId]);
      const wh = new Webhook(endpoint.secret);
      for (const r of receiver.requests) {
        wh.verify(r.body, r.headers as Record<string, string>);
      }
      // The delivery row is written by the job's handler; the worker records the job itself a
      // moment later, grouped with its next claim. Wait for that, then check every attempt's job.
      const jobs = await until('the jobs recorded', async () => {
        const rows = await fresh.db('jobs').where({ type: 'webhook.deliver' }).orderBy('run_at').select('status', 'dedupe_key');
        return rows.some((j) => j.status === 'running' || j.status === 'queued') ? null : rows;
      });
      expect(jobs.map((j) => j.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    } finally {
      await receiver.close();
    }
  });
});
