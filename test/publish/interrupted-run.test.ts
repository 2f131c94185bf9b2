// Found by bench/chaos.ts: a publication whose worker was killed while it ran stayed "publishing"
// until the two-hour stale sweep failed it ("may or may not exist"), even when the run died before
// it called the platform (fetching the render from the media store); the job's retry found it
// claimed and did nothing. Now the run records its step: one that died fetching is scheduled
// again and posted by a real retry; one that died posting is left as before (never posted twice).
//
// A worker's death is left as it leaves the database: its job claimed by a worker that no longer
// renews the lease, and the publication claimed by a run that will not finish.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nowIso } from '../../src/db/knex.js';
import { claim, failJob, reapExpiredLeases, Worker } from '../../src/jobs/index.js';
import { createPublishers, type Publishers } from '../../src/publish/publishers.js';
import { publishJobHandlers } from '../../src/publish/jobs.js';
import { failStalePublications, runPublication } from '../../src/publish/runner.js';
import { connectChannel, getPublication, requestPublication, type PublishOptions } from '../../src/publish/service.js';
import { S3Storage } from '../../src/storage/s3.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { startS3 } from '../helpers/s3.js';
import { startStoreRelay } from '../helpers/store-relay.js';

const ACCOUNT = 'acc_pub';
const RUN = 'publication.run';
const LEASE_OVER = { reason: 'lease_expired' as const, message: 'the worker stopped renewing its lease' };

describe.each(testDatabases())('a publication whose worker died mid-run on %s', (kind) => {
  let fresh: FreshDb;
  let calls: number;
  let options: PublishOptions;
  let worker: Worker | null = null;

  beforeEach(async () => {
    fresh = await freshDb(kind);
    await fresh.db('accounts').insert({ id: ACCOUNT, name: 'pub', created_at: nowIso() });
    const local = createPublishers({ dataDir: fresh.dataDir }).local;
    calls = 0;
    const publishers = { local: { platform: 'local', publish: (r) => { calls++; return local.publish(r); } } } as Publishers;
    options = { publishers, secrets: { secretKey: 'test-credentials-key' }, retryBaseMs: 10 };
  });
  afterEach(async () => {
    await worker?.stop();
    worker = null;
    await fresh.close();
  });

  async function publication(videoPath: string, opts = options) {
    const ch = await connectChannel(fresh.db, { accountId: ACCOUNT, platform: 'local', name: 'Folder', credentials: {} }, opts.secrets);
    return requestPublication(fresh.db, { accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id, latestRender: { id: 'rnd_1', path: videoPath } }, opts);
  }
  function render(): string {
    const file = path.join(fresh.dataDir, 'final.mp4');
    fs.writeFileSync(file, crypto.randomBytes(20_000));
    return file;
  }
  async function status(id: string) {
    return (await getPublication(fresh.db, ACCOUNT, id)).status;
  }
  /** A real worker, which runs whatever job is due until the publication settles. */
  async function settle(id: string, opts = options) {
    worker = new Worker({ db: fresh.db, handlers: publishJobHandlers(opts), pollMs: 20, leaseMs: 5_000 });
    worker.start();
    await expect.poll(() => status(id), { timeout: 15_000 }).not.toMatch(/^(scheduled|publishing)$/);
    return getPublication(fresh.db, ACCOUNT, id);
  }

  it('dies fetching the render: scheduled again when its job fails for good, then posted once by the retry', async () => {
    const s3 = await startS3();
    const relay = await startStoreRelay(Number(new URL(s3.endpoint).port));
    try {
      const storage = new S3Storage({
        dataDir: fresh.dataDir, publicBaseUrl: 'http://127.0.0.1:1', secret: crypto.randomBytes(32),
        s3: { ...s3.storage, endpoint: relay.endpoint, timeoutMs: 60_000 },
      });
      await storage.moveIn(render(), 'renders/final.mp4');
      const opts = { ...options, storage };
      const pub = await publication('store:renders/final.mp4', opts);
      const job = await claim(fresh.db, { workerId: 'dying-worker', leaseMs: 60_000, types: [RUN] });
      expect(job).not.toBeNull();
      // The dying worker's run: claimed, then stuck fetching the render from a store that hangs.
      await relay.set('hang');
      const dying = runPublication(fresh.db, pub.id, opts);
      await expect.poll(() => status(pub.id)).toBe('publishing');

      const onFailed = (publishJobHandlers(opts)[RUN] as { onFailed: Parameters<typeof failJob>[4] }).onFailed;
      expect((await failJob(fresh.db, job!.id, { workerId: 'dying-worker' }, LEASE_OVER, onFailed))?.status).toBe('failed');
      expect(await getPublication(fresh.db, ACCOUNT, pub.id)).toMatchObject({ status: 'scheduled', error: { code: 'publish_interrupted' } });

      // The store answers again; the run thought dead wakes up and finds it taken over.
      await relay.set('pass');
      expect(await dying).toBe('not_claimed');
      expect(calls).toBe(0);
      expect(await settle(pub.id, opts)).toMatchObject({ status: 'published', error: null });
      expect(calls).toBe(1);
      const events = await fresh.db('webhook_events').where({ account_id: ACCOUNT }).pluck('type');
      expect(events).toEqual(['publication.published']);
    } finally {
      await relay.close();
      await s3.close();
    }
  }, 40_000);

  it('is stopped fetching (worker shutting down): handed back at once, then posted once by the next worker', async () => {
    const s3 = await startS3();
    const relay = await startStoreRelay(Number(new URL(s3.endpoint).port));
    try {
      const storage = new S3Storage({
        dataDir: fresh.dataDir, publicBaseUrl: 'http://127.0.0.1:1', secret: crypto.randomBytes(32),
        s3: { ...s3.storage, endpoint: relay.endpoint, timeoutMs: 600_000 },
      });
      await storage.moveIn(render(), 'renders/final.mp4');
      const opts = { ...options, storage };
      const pub = await publication('store:renders/final.mp4', opts);
      await relay.set('hang');
      const stopping = new Worker({ db: fresh.db, handlers: publishJobHandlers(opts), pollMs: 20, leaseMs: 5_000 });
      stopping.start();
      await expect.poll(() => status(pub.id)).toBe('publishing');
      // The shutdown's grace is over: without the signal the run would hold the worker for the store's timeout.
      await stopping.stop({ abortAfterMs: 0 });
      expect(await status(pub.id)).toBe('scheduled');
      expect(await fresh.db('jobs').where({ type: RUN }).select('status', 'attempts')).toEqual([{ status: 'queued', attempts: 0 }]);
      expect(calls).toBe(0);

      await relay.set('pass');
      expect(await settle(pub.id, opts)).toMatchObject({ status: 'published', error: null });
      expect(calls).toBe(1);
    } finally {
      await relay.close();
      await s3.close();
    }
  }, 40_000);

  it('dies before posting: the job\'s retry (lease reaped) runs it again instead of finding it claimed', async () => {
    const pub = await publication(render());
    const job = await claim(fresh.db, { workerId: 'dying-worker', leaseMs: 60_000, types: [RUN] });
    await fresh.db('publications').where({ id: pub.id })
      .update({ status: 'publishing', publish_step: 'fetching', claim_token: 'clm_dead', started_at: nowIso() });
    await fresh.db('jobs').where({ id: job!.id }).update({ lease_expires_at: new Date(Date.now() - 1000).toISOString() });
    expect(await reapExpiredLeases(fresh.db, { types: [RUN] })).toEqual({ requeued: 1, failed: 0 });
    expect((await settle(pub.id)).status).toBe('published');
    expect(calls).toBe(1);
    expect((await fresh.db('jobs').where({ id: job!.id }).first('status')).status).toBe('succeeded');
  });

  it('dies while posting: left "publishing" by the retry and the failed job, then failed by the stale sweep, never posted twice', async () => {
    const pub = await publication(render());
    const job = await claim(fresh.db, { workerId: 'dying-worker', leaseMs: 60_000, types: [RUN] });
    await fresh.db('publications').where({ id: pub.id })
      .update({ status: 'publishing', publish_step: 'posting', claim_token: 'clm_dead', started_at: nowIso() });
    // The job's retry, as the worker runs it.
    expect(await runPublication(fresh.db, pub.id, options, { signal: new AbortController().signal })).toBe('not_claimed');
    const onFailed = (publishJobHandlers(options)[RUN] as { onFailed: Parameters<typeof failJob>[4] }).onFailed;
    expect((await failJob(fresh.db, job!.id, { workerId: 'dying-worker' }, LEASE_OVER, onFailed))?.status).toBe('failed');
    expect(await status(pub.id)).toBe('publishing');
    // Seen stale and unrenewed twice: the first sweep only notes it.
    expect(await failStalePublications(fresh.db, { ...options, staleAfterMs: -1, staleConfirmMs: 0 })).toBe(0);
    expect(await status(pub.id)).toBe('publishing');
    expect(await failStalePublications(fresh.db, { ...options, staleAfterMs: -1, staleConfirmMs: 0 })).toBe(1);
    expect(await getPublication(fresh.db, ACCOUNT, pub.id)).toMatchObject({ status: 'failed', error: { code: 'publish_interrupted' } });
    expect(calls).toBe(0);
  });

  it('went stale fetching: the sweep schedules it again rather than failing it', async () => {
    const pub = await publication(render());
    await fresh.db('jobs').delete(); // its job was lost with the worker
    await fresh.db('publications').where({ id: pub.id })
      .update({ status: 'publishing', publish_step: 'fetching', claim_token: 'clm_dead', started_at: nowIso() });
    expect(await failStalePublications(fresh.db, { ...options, staleAfterMs: -1, staleConfirmMs: 0 })).toBe(0);
    expect(await status(pub.id)).toBe('publishing'); // seen once: not yet taken for dead
    expect(await failStalePublications(fresh.db, { ...options, staleAfterMs: -1, staleConfirmMs: 0 })).toBe(0);
    expect(await status(pub.id)).toBe('scheduled');
    expect((await settle(pub.id)).status).toBe('published');
    expect(calls).toBe(1);
  });
});
