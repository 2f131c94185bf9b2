/**
 * Found by bench/chaos.ts: clips in the bucket that no row named, each of a scene that ended
 * failed (worker_lost, storage_unavailable). An attempt had stored the clip, then its worker was
 * killed before recording it, or the store took the upload and its answer was lost; nothing ever
 * removed it. Now failing a scene hands its files that no row records to the removal job; a still
 * it recorded stays (test/storage/failed-files-outage.test.ts: with the store away as it fails).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generationJobHandlers } from '../../src/generation/index.js';
import { SCENE_JOB } from '../../src/generation/start.js';
import { claim, failJob, Worker } from '../../src/jobs/index.js';
import { assertInvariants } from '../../src/ledger/index.js';
import type { Storage } from '../../src/storage/index.js';
import { workflowCleanupJobHandlers } from '../../src/workflows/file-cleanup.js';
import { testDatabases } from '../helpers/db.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createFox, generate, useGeneration } from './helpers.js';

async function put(storage: Storage, key: string, text: string): Promise<void> {
  const staged = storage.stagingPath();
  fs.mkdirSync(path.dirname(staged), { recursive: true });
  fs.writeFileSync(staged, text);
  await storage.moveIn(staged, key);
}

describe.each(testDatabases())('a failed scene\'s files on %s', (kind) => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(async () => {
    await assertInvariants(s.fresh.db);
    await s?.close();
  });

  it('the clip an attempt stored is removed; the still the scene recorded stays', async () => {
    const g = useGeneration(s);
    const acc = await s.account({ credits: 100 });
    const wf = await createFox(s, acc.key, [{ prompt: 'a fox under the stars', duration_s: 1 }]);
    const started = await generate(s, acc.key, wf.id, {});
    expect(started.status, started.text).toBe(202);
    const job = await claim(s.fresh.db, { workerId: 'dying-worker', leaseMs: 60_000, types: [SCENE_JOB], now: new Date(Date.now() + 1_000) });
    expect(job).not.toBeNull();
    const scene = await s.fresh.db('generation_scenes').where({ generation_id: started.json.id }).first();
    // What the attempt left: a still it recorded (step 'video'), then a clip it stored but never recorded.
    const base = `${acc.id}/${wf.id}/${scene.generation_id}-${scene.node_id}`;
    await put(s.services.storage, `${base}.png`, 'a still');
    await s.fresh.db('generation_scenes').where({ generation_id: scene.generation_id, node_id: scene.node_id }).update({ image_key: `${base}.png`, step: 'video' });
    await put(s.services.storage, `${base}.mp4`, 'a clip nobody recorded');

    const entry = generationJobHandlers({ providers: g.providers, storage: s.services.storage })[SCENE_JOB];
    const onFailed = typeof entry === 'object' ? entry.onFailed : undefined;
    const failure = { reason: 'lease_expired' as const, message: 'the worker stopped renewing its lease' };
    expect((await failJob(s.fresh.db, job!.id, { workerId: 'dying-worker' }, failure, onFailed))?.status).toBe('failed');

    const after = await s.fresh.db('generation_scenes').where({ generation_id: scene.generation_id }).first('status', 'clip_key');
    expect(after).toEqual({ status: 'failed', clip_key: null });
    // Removed by the job the failure queued.
    const worker = new Worker({ db: s.fresh.db, handlers: workflowCleanupJobHandlers({ storage: s.services.storage }), pollMs: 20 });
    worker.start();
    try {
      await expect.poll(() => s.services.storage.stat(`${base}.mp4`)).toBeNull();
      await expect.poll(async () => (await s.fresh.db('jobs').where({ type: 'workflow.remove_files' }).first('status'))?.status).toBe('succeeded');
    } finally {
      await worker.stop({ abortAfterMs: 1000 });
    }
    expect(await s.services.storage.stat(`${base}.png`)).not.toBeNull();
  });
});
