/**
 * A failed scene's or render's files that no row names, when the store is away as the job fails
 * (s3rver behind a switchable relay): the failure used to try the store once and leave them in the
 * bucket for good. Now the failure hands them to the removal job, which waits out the outage and
 * removes them once the store is back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENE_JOB } from '../../src/generation/start.js';
import { claim, failJob, type HandlerEntry, Worker } from '../../src/jobs/index.js';
import { RENDER_JOB } from '../../src/renders/start.js';
import { S3Storage } from '../../src/storage/s3.js';
import { REMOVE_FILES_JOB, workflowCleanupJobHandlers } from '../../src/workflows/file-cleanup.js';
import { testDatabases } from '../helpers/db.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startStoreRelay, type StoreRelay } from '../helpers/store-relay.js';
import { createFox, generate } from '../generation/helpers.js';
import { tempDir } from '../net/servers.js';
import { smallClips, startRender } from '../renders/helpers.js';

const ONE_SHOT = [{ prompt: 'A sleepy fox in a dusty bookshop finds an old map', duration_s: 1 }];

describe.each(testDatabases())('a failed job\'s unrecorded files with the store away (%s)', (kind) => {
  let s3: TestS3;
  let relay: StoreRelay;
  let s: TestServer;
  let direct: S3Storage;
  let a: { id: string; key: string };

  beforeAll(async () => {
    s3 = await startS3();
    relay = await startStoreRelay(Number(new URL(s3.endpoint).port));
    s = await startTestServer(kind, { config: { storage: { ...s3.storage, endpoint: relay.endpoint, timeoutMs: 300 } }, services: { generation: smallClips() } });
    // The bucket as it is, past the relay.
    direct = new S3Storage({ dataDir: tempDir('lavendly-direct-'), publicBaseUrl: s.config.publicBaseUrl, secret: Buffer.alloc(32, 1), s3: { ...s3.storage, timeoutMs: 5000 } });
    a = await s.account({ credits: 100 });
  }, 60_000);

  afterAll(async () => {
    await relay?.set('pass');
    await s?.close();
    await relay?.close();
    await s3?.close();
  });

  /** Stores an object under `key` straight into the bucket: what an attempt left behind. */
  const leave = async (key: string) => {
    const staged = path.join(tempDir('lavendly-left-'), 'file');
    fs.writeFileSync(staged, 'a file no row names');
    await direct.moveIn(staged, key);
    expect(await direct.stat(key)).not.toBeNull();
  };

  /** Claims the one queued `type` job and fails it as a dead worker's, with the store down. */
  const failWithStoreDown = async (type: string) => {
    const job = await claim(s.fresh.db, { workerId: 'dying-worker', leaseMs: 60_000, types: [type], now: new Date(Date.now() + 1_000) });
    expect(job).not.toBeNull();
    const entry: HandlerEntry | undefined = s.jobHandlers[type];
    const onFailed = typeof entry === 'object' ? entry.onFailed : undefined;
    await relay.set('down');
    const failure = { reason: 'lease_expired' as const, message: 'the worker stopped renewing its lease' };
    expect((await failJob(s.fresh.db, job!.id, { workerId: 'dying-worker' }, failure, onFailed))?.status).toBe('failed');
  };

  /** Brings the store back and runs only the removal job until `keys` are gone from the bucket. */
  const removedOnceBack = async (keys: string[]) => {
    // Handed over in the failure's transaction: queued whatever the store did meanwhile.
    const queued = await s.fresh.db('jobs').where({ type: REMOVE_FILES_JOB, status: 'queued' });
    expect(queued.flatMap((j: { payload: string }) => JSON.parse(j.payload).keys)).toEqual(keys);
    for (const key of keys) expect(await direct.stat(key)).not.toBeNull();
    await relay.set('pass');
    const worker = new Worker({ db: s.fresh.db, handlers: workflowCleanupJobHandlers({ storage: s.services.storage }), pollMs: 20, backoff: { baseMs: 50, maxMs: 200 } });
    worker.start();
    try {
      for (const key of keys) await expect.poll(() => direct.stat(key), { timeout: 15_000, interval: 50 }).toBeNull();
    } finally {
      await worker.stop({ abortAfterMs: 1000 });
    }
    expect((await s.fresh.db('jobs').where({ type: REMOVE_FILES_JOB }).whereNot({ status: 'succeeded' })).length).toBe(0);
  };

  it('a failed scene\'s clip and still are removed once the store is back', async () => {
    const wf = await createFox(s, a.key, ONE_SHOT);
    expect((await generate(s, a.key, wf.id, {})).status).toBe(202);
    const scene = await s.fresh.db('generation_scenes').where({ workflow_id: wf.id }).first();
    const keys = ['mp4', 'png'].map((ext) => `${a.id}/${wf.id}/${scene.generation_id}-${scene.node_id}.${ext}`);
    for (const key of keys) await leave(key);
    try {
      await failWithStoreDown(SCENE_JOB);
      await removedOnceBack(keys);
    } finally {
      await relay.set('pass');
    }
  }, 60_000);

  it('a failed render\'s output is removed once the store is back', async () => {
    const wf = await createFox(s, a.key, ONE_SHOT);
    const r = await startRender(s, a.key, wf.id);
    expect(r.status, r.text).toBe(202);
    const key = direct.keyFor(a.id, `renders/${r.json.id}.mp4`);
    await leave(key);
    try {
      await failWithStoreDown(RENDER_JOB);
      await removedOnceBack([key]);
    } finally {
      await relay.set('pass');
    }
  }, 60_000);
});
