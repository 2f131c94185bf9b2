/**
 * Scenes and renders when the media store fails (s3rver behind a switchable TCP relay, a bucket
 * that does not exist): the error a customer reads says the store is unavailable, names no
 * address, and never tells them to generate a scene again (that costs credits and fails the same
 * way); the store's own error goes to the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generationJobHandlers } from '../../src/generation/index.js';
import { Worker } from '../../src/jobs/index.js';
import { renderJobHandlers } from '../../src/renders/index.js';
import { S3Storage } from '../../src/storage/s3.js';
import { testDatabases } from '../helpers/db.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startStoreRelay, type StoreRelay } from '../helpers/store-relay.js';
import { createFox, generate, waitForGeneration } from '../generation/helpers.js';
import { tempDir } from '../net/servers.js';
import { smallClips, startRender, waitForRender } from './helpers.js';

const ONE_SHOT = [{ prompt: 'A sleepy fox in a dusty bookshop finds an old map', duration_s: 1 }];

describe.each(testDatabases())('scenes and renders with the store failing (%s)', (kind) => {
  let s3: TestS3;
  let relay: StoreRelay;
  let s: TestServer;
  let a: { id: string; key: string };
  const workers: Worker[] = [];

  /** A worker for scene and render jobs on `storage` (default: the server's). */
  const startWorker = (storage = s.services.storage) => {
    const worker = new Worker({
      db: s.fresh.db,
      handlers: { ...generationJobHandlers({ providers: s.services.generation.providers, storage }), ...renderJobHandlers({ storage, pollMs: 50, preset: 'ultrafast' }) },
      concurrency: 2, pollMs: 20, leaseMs: 10_000, backoff: { baseMs: 50, maxMs: 200 },
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
