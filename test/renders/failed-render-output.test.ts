/**
 * Found by bench/chaos.ts: renders that ended failed (worker_lost, storage_unavailable) whose MP4
 * was in the bucket all the same: an attempt had stored it, then its worker was killed before
 * recording the success, or the store took the upload but its answer was lost. Nothing refers to
 * that file and nothing ever removed it. Now failing a render hands its output to the removal job
 * (test/storage/failed-files-outage.test.ts: with the store away as it fails).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claim, failJob, Worker } from '../../src/jobs/index.js';
import { RENDER_JOB } from '../../src/renders/start.js';
import { workflowCleanupJobHandlers } from '../../src/workflows/file-cleanup.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createWorkflow, invariants, startRender, useSmallClips } from './helpers.js';

describe.each(testDatabases())('a failed render\'s output on %s', (kind) => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer(kind);
    useSmallClips(s);
  });
  afterAll(async () => {
    await invariants(s);
    await s?.close();
  });

  it('is removed when the render fails after an attempt stored it', async () => {
    const acc = await s.account({ credits: 100 });
    const wf = await createWorkflow(s, acc.key, [1]);
    const r = await startRender(s, acc.key, wf.id);
    expect(r.status, r.text).toBe(202);
    const job = await claim(s.fresh.db, { workerId: 'dying-worker', leaseMs: 60_000, types: [RENDER_JOB], now: new Date(Date.now() + 1_000) });
    expect(job).not.toBeNull();
    // What the attempt left: its output, stored under the render's key.
    const storage = s.services.storage;
    const key = storage.keyFor(acc.id, `renders/${r.json.id}.mp4`);
    const staged = storage.stagingPath();
    fs.mkdirSync(staged.slice(0, staged.lastIndexOf('/')), { recursive: true });
    fs.writeFileSync(staged, 'an MP4 nobody recorded');
    await storage.moveIn(staged, key);
    expect(await storage.stat(key)).not.toBeNull();

    const entry = s.jobHandlers[RENDER_JOB];
    const onFailed = typeof entry === 'object' ? entry.onFailed : undefined;
    const failure = { reason: 'lease_expired' as const, message: 'the worker stopped renewing its lease' };
    expect((await failJob(s.fresh.db, job!.id, { workerId: 'dying-worker' }, failure, onFailed))?.status).toBe('failed');

    const render = await call(`${s.base}/workflows/${wf.id}/renders/${r.json.id}`, { key: acc.key });
    expect(render.json).toMatchObject({ status: 'failed', url: null });
    // Removed by the job the failure queued.
    const worker = new Worker({ db: s.fresh.db, handlers: workflowCleanupJobHandlers({ storage }), pollMs: 20 });
    worker.start();
    try {
      await expect.poll(() => storage.stat(key)).toBeNull();
    } finally {
      await worker.stop({ abortAfterMs: 1000 });
    }
  });
});
