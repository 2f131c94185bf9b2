/**
 * Scenes and renders when the media store fails (s3rver behind a switchable TCP relay, a bucket
 * that does not exist): while the outage window lasts the jobs wait for the store without
 * spending attempts and finish once it is back (charged once); past it the error a customer
 * reads says the store is unavailable, names no address, and never tells them to generate a
 * scene again (that costs credits and fails the same way); the store's own error goes to the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generationJobHandlers } from '../../src/generation/index.js';
import { Worker } from '../../src/jobs/index.js';
import { renderJobHandlers } from '../../src/renders/index.js';
import { S3Storage } from '../../src/storage/s3.js';
import { workflowCleanupJobHandlers } from '../../src/workflows/file-cleanup.js';
import { testDatabases } from '../helpers/db.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { startStoreRelay, type StoreRelay } from '../helpers/store-relay.js';
import { createFox, generate, ledger, waitForGeneration } from '../generation/helpers.js';
import { tempDir } from '../net/servers.js';
import { smallClips, startRender, waitForRender } from './helpers.js';

const ONE_SHOT = [{ prompt: 'A sleepy fox in a dusty bookshop finds an old map', duration_s: 1 }];

describe.each(testDatabases())('scenes and renders with the store failing (%s)', (kind) => {
  let s3: TestS3;
  let relay: StoreRelay;
  let s: TestServer;
  let a: { id: string; key: string };
  const workers: Worker[] = [];
  /** Runs the workers put back to wait for the store, as their log says. */
  let outageRetries = 0;
  const logger = {
    info: (_: unknown, msg: string) => { if (msg === 'job will be retried once its peer is back') outageRetries++; },
    warn: () => {}, error: () => {},
  };

  /**
   * A worker for scene and render jobs on `storage` (default: the server's). `outageWindowMs` 0:
   * the window has passed, and a store failure counts as an attempt.
   */
  const startWorker = (storage = s.services.storage, outageWindowMs = 0) => {
    const worker = new Worker({
      db: s.fresh.db,
      handlers: { ...generationJobHandlers({ providers: s.services.generation.providers, storage }), ...renderJobHandlers({ storage, pollMs: 50, preset: 'ultrafast' }) },
      concurrency: 2, pollMs: 20, leaseMs: 10_000, backoff: { baseMs: 50, maxMs: 200 }, outageWindowMs, logger,
    });
    worker.start();
    workers.push(worker);
    return worker;
  };

  beforeAll(async () => {
    s3 = await startS3();
    relay = await startStoreRelay(Number(new URL(s3.endpoint).port));
    s = await startTestServer(kind, { config: { storage: { ...s3.storage, endpoint: relay.endpoint, timeoutMs: 300 } }, services: { generation: smallClips() } });
    a = await s.account({ credits: 100 });
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) await w.stop({ abortAfterMs: 1000 });
    await relay?.set('pass');
    await s?.close();
    await relay?.close();
    await s3?.close();
  });

  /** Waits (bounded) until the workers have put jobs back more often than max_attempts (3) allows, or `done` says stop. */
  const outlastAttempts = async (done: () => Promise<boolean>) => {
    const from = outageRetries;
    for (let i = 0; i < 600 && outageRetries - from < 5; i++) {
      if (await done()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  /** Reads `read` (bounded) until it gives a wait: the job may be running its next try at any one read. */
  const waitingOn = async <T>(read: () => Promise<T>, waiting: (x: T) => unknown): Promise<T> => {
    let last = await read();
    for (let i = 0; i < 200 && !waiting(last); i++) {
      await new Promise((r) => setTimeout(r, 25));
      last = await read();
    }
    return last;
  };

  it('a scene whose store is down for longer than its attempts last finishes once the store is back, charged once', async () => {
    const wf = await createFox(s, a.key, ONE_SHOT);
    const before = await ledger(s, a.key);
    await relay.set('down');
    const worker = startWorker(s.services.storage, 600_000);
    try {
      expect((await generate(s, a.key, wf.id, {})).status).toBe(202);
      await outlastAttempts(async () => (await waitForGeneration(s, a.key, wf.id, 0).catch(() => null))?.status === 'failed');
      const during = await s.fresh.db('jobs').where({ type: 'generation.scene' }).orderBy('created_at', 'desc').first();
      expect(during.status, during.last_error).not.toBe('failed');
      expect(during.attempts).toBeLessThanOrEqual(1);
      // The client sees why the scene stands still, and when it goes on.
      const seen = await waitingOn(async () => (await call(`${s.base}/workflows/${wf.id}/generation-status`, { key: a.key })).json, (st) => st.scenes[0].waiting);
      expect(seen.scenes[0].waiting, JSON.stringify(seen)).toMatchObject({ reason: 'storage_unavailable', message: expect.stringContaining('The media store is not answering') });
      expect(Date.parse(seen.scenes[0].waiting.next_attempt_at)).toBeGreaterThan(Date.parse(during.created_at));
      expect(seen.phase).toMatch(/^(Paused at|Not started yet, at) scene 1 of 1: The media store is not answering/);
      await relay.set('pass');
      const st = await waitForGeneration(s, a.key, wf.id, 30_000);
      expect(st.status, JSON.stringify(st)).toBe('succeeded');
      // The row points at an object that is there.
      const { clip_key: clipKey } = await s.fresh.db('workflow_scenes').where({ workflow_id: wf.id }).first('clip_key');
      expect(await s.services.storage.stat(clipKey)).not.toBeNull();
      // One charge, for the one clip; nothing left held.
      const after = await ledger(s, a.key);
      const charges = after.data.filter((e: { kind: string; id: string }) => e.kind === 'commit' && !before.data.some((b: { id: string }) => b.id === e.id));
      expect(charges).toHaveLength(1);
      expect(after.balance).toBe(before.balance - charges[0].amount);
      expect(after.reserved).toBe(0);
    } finally {
      await worker.stop({ abortAfterMs: 1000 });
      await relay.set('pass');
    }
  }, 90_000);

  it('a render started while the store is down finishes once it is back, its output in the bucket', async () => {
    const wf = await createFox(s, a.key, ONE_SHOT);
    const generator = startWorker();
    expect((await generate(s, a.key, wf.id, {})).status).toBe(202);
    expect((await waitForGeneration(s, a.key, wf.id, 30_000)).status).toBe('succeeded');
    await generator.stop({ abortAfterMs: 1000 });

    await relay.set('down');
    const worker = startWorker(s.services.storage, 600_000);
    try {
      const r = await startRender(s, a.key, wf.id);
      expect(r.status, r.text).toBe(202);
      await outlastAttempts(async () => (await waitForRender(s, a.key, wf.id, r.json.id, 0).catch(() => null))?.status === 'failed');
      const seen = await waitingOn(async () => (await call(`${s.base}/workflows/${wf.id}/renders/${r.json.id}`, { key: a.key })).json, (x) => x.waiting);
      expect(seen.waiting, JSON.stringify(seen)).toMatchObject({ reason: 'storage_unavailable' });
      const listed = (await call(`${s.base}/workflows/${wf.id}/renders`, { key: a.key })).json;
      expect(listed.data.find((x: { id: string }) => x.id === r.json.id)).toHaveProperty('waiting');
      await relay.set('pass');
      const done = await waitForRender(s, a.key, wf.id, r.json.id, 30_000);
      expect(done.status, JSON.stringify(done)).toBe('succeeded');
      expect(done.waiting).toBeNull();
      const row = await s.fresh.db('renders').where({ id: r.json.id }).first('output_key');
      expect(await s.services.storage.stat(row.output_key)).not.toBeNull();
      expect((await ledger(s, a.key)).reserved).toBe(0);
    } finally {
      await worker.stop({ abortAfterMs: 1000 });
      await relay.set('pass');
    }
  }, 90_000);

  it('a workflow deleted while the store is down has its files removed once the store is back', async () => {
    const wf = await createFox(s, a.key, ONE_SHOT);
    const generator = startWorker();
    expect((await generate(s, a.key, wf.id, {})).status).toBe(202);
    expect((await waitForGeneration(s, a.key, wf.id, 30_000)).status).toBe('succeeded');
    await generator.stop({ abortAfterMs: 1000 });
    // The bucket as it is, past the relay.
    const direct = new S3Storage({ dataDir: tempDir('lavendly-direct-'), publicBaseUrl: s.config.publicBaseUrl, secret: Buffer.alloc(32, 1), s3: { ...s3.storage, timeoutMs: 5000 } });
    const prefix = direct.keyFor(a.id, wf.id);
    expect((await direct.list(prefix)).length).toBeGreaterThan(0);

    await relay.set('down');
    const del = await call(`${s.base}/workflows/${wf.id}`, { method: 'DELETE', key: a.key });
    expect(del.status, del.text).toBe(204);
    expect((await direct.list(prefix)).length).toBeGreaterThan(0);

    await relay.set('pass');
    // Only the removal job: the server's other handlers must not run the next tests' jobs.
    const worker = new Worker({ db: s.fresh.db, handlers: workflowCleanupJobHandlers({ storage: s.services.storage }), pollMs: 20, backoff: { baseMs: 50, maxMs: 200 } });
    worker.start();
    try {
      let left = await direct.list(prefix);
      for (let i = 0; i < 300 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        left = await direct.list(prefix);
      }
      expect(left).toEqual([]);
    } finally {
      await worker.stop({ abortAfterMs: 1000 });
    }
  }, 60_000);

  it('a scene generated while the store is down fails as storage_unavailable, naming no address', async () => {
    const wf = await createFox(s, a.key, ONE_SHOT);
    await relay.set('down');
    const worker = startWorker();
    try {
      expect((await generate(s, a.key, wf.id, {})).status).toBe(202);
      const st = await waitForGeneration(s, a.key, wf.id, 30_000);
      expect(st.status, JSON.stringify(st)).toBe('failed');
      const error = st.scenes[0].error;
      expect(error).toMatchObject({ code: 'storage_unavailable', retryable: true });
      expect(error.message).toContain('The media store is unavailable');
      expect(error.message).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
    } finally {
      await worker.stop({ abortAfterMs: 1000 });
      await relay.set('pass');
    }
  }, 60_000);

  it('a render whose bucket is missing fails as the store failing, not as a clip to generate again', async () => {
    const wf = await createFox(s, a.key, ONE_SHOT);
    const generator = startWorker();
    expect((await generate(s, a.key, wf.id, {})).status).toBe(202);
    expect((await waitForGeneration(s, a.key, wf.id, 30_000)).status).toBe('succeeded');
    await generator.stop({ abortAfterMs: 1000 });

    // The clip is in the bucket; the worker rendering it is pointed at one that does not exist.
    const lost = new S3Storage({ dataDir: tempDir('lavendly-lost-bucket-'), publicBaseUrl: s.config.publicBaseUrl, secret: Buffer.alloc(32, 1), s3: { ...s3.storage, bucket: 'no-such-bucket', timeoutMs: 300 } });
    startWorker(lost);
    const r = await startRender(s, a.key, wf.id);
    expect(r.status, r.text).toBe(202);
    const done = await waitForRender(s, a.key, wf.id, r.json.id, 30_000);
    expect(done.status).toBe('failed');
    expect(done.error.code).toBe('storage_unavailable');
    expect(done.error.message).toContain('The media store is unavailable');
    expect(done.error.message).not.toMatch(/generate that scene again|clip_missing/);
  }, 60_000);
});
