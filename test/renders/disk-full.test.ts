/**
 * Media work on a full disk: a still (ffmpeg exits 0 and leaves an empty PNG there) answered 500
 * "no frame"; renders and scenes failed with the raw "ENOSPC: no space left on device" as
 * `render_failed` / `generation_failed`. Now the still answers 503 `unavailable` with Retry-After,
 * and the jobs fail as `storage_unavailable` (retryable, nothing charged) in words a customer can
 * act on. Nothing half-written stays behind, the ledger holds, and everything works once space is
 * freed. The media folder is a small real tmpfs; the database lives elsewhere. Needs root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/jobs/index.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { canMountTmpfs, mountTmpfs, TMPFS_SKIP_REASON, type Tmpfs } from '../helpers/tmpfs.js';
import { fixtureClip, makeTempDir } from '../media/helpers.js';
import { createWorkflow, HEIGHT, invariants, ledgerOf, plantClip, startRender, startWorker, useSmallClips, waitForRender, WIDTH } from './helpers.js';

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe.skipIf(!canMountTmpfs).each(testDatabases())(`media work on a full disk (%s, ${canMountTmpfs ? 'tmpfs' : TMPFS_SKIP_REASON})`, (kind) => {
  let s: TestServer;
  let a: { id: string; key: string };
  let disk: Tmpfs;
  let worker: Worker;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let wf: { id: string; scenes: { node_id: string }[] };

  beforeAll(async () => {
    s = await startTestServer(kind);
    const generation = useSmallClips(s);
    a = await s.account({ credits: 1000 });
    disk = mountTmpfs(8);
    fs.rmSync(path.join(s.fresh.dataDir, 'files'), { recursive: true, force: true });
    fs.symlinkSync(disk.dir, path.join(s.fresh.dataDir, 'files'));
    tmp = await makeTempDir(`disk-full-${kind}`);
    const clip = await fixtureClip(tmp.file('clip.mp4'), { durationS: 2, size: `${WIDTH}x${HEIGHT}`, audio: 'sine=f=330:r=48000' });
    wf = await createWorkflow(s, a.key, [2, 2]);
    for (const scene of wf.scenes) await plantClip(s, a.id, wf.id, scene.node_id, clip);
    worker = startWorker(s, generation.providers);
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await s?.close();
    disk?.unmount();
    await tmp?.cleanup();
  });

  const frame = () => call(`${s.base}/workflows/${wf.id}/scene-frame`, { key: a.key, body: { node_id: wf.scenes[0]!.node_id, at_s: 1 } });
  const generationOf = async (id: string) => {
    for (let i = 0; i < 600; i++) {
      const st = await call(`${s.base}/workflows/${id}/generation-status?wait_s=5`, { key: a.key });
      expect(st.status, st.text).toBe(200);
      if (st.json.status === 'succeeded' || st.json.status === 'failed') return st.json;
    }
    throw new Error('generation did not finish');
  };

  it('refuses a still with 503, fails renders and scenes as storage_unavailable, and recovers once space is freed', async () => {
    const balance = (await ledgerOf(s, a.key)).balance;
    const shot = await createWorkflow(s, a.key, [2], 'Second');
    disk.fill(0);

    const still = await frame();
    expect(still.status, still.text).toBe(503);
    expect(still.headers.get('retry-after')).toBe('30');
    expect(still.json.error.code).toBe('unavailable');

    const render = await startRender(s, a.key, wf.id);
    expect(render.status, render.text).toBe(202);
    const failed = await waitForRender(s, a.key, wf.id, render.json.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toEqual({ code: 'storage_unavailable', message: expect.stringMatching(/out of disk space/) });

    const gen = await call(`${s.base}/workflows/${shot.id}/generate`, { key: a.key, body: {} });
    expect(gen.status, gen.text).toBe(202);
    const st = await generationOf(shot.id);
    expect(st.status).toBe('failed');
    expect(st.scenes[0].error).toMatchObject({ code: 'storage_unavailable', retryable: true, message: expect.stringMatching(/out of disk space/) });
    expect(JSON.stringify(st)).not.toContain(disk.dir);
    expect((await ledgerOf(s, a.key)).balance).toBe(balance);
    await invariants(s);
    expect(filesUnder(disk.dir).filter((f) => /\.partial-|\.staging/.test(f))).toEqual([]);

    disk.free();
    expect((await frame()).status).toBe(200);
    const again = await startRender(s, a.key, wf.id);
    expect((await waitForRender(s, a.key, wf.id, again.json.id)).status).toBe('succeeded');
    await call(`${s.base}/workflows/${shot.id}/generate`, { key: a.key, body: {} });
    expect((await generationOf(shot.id)).status).toBe('succeeded');
    await invariants(s);
    expect(filesUnder(disk.dir).filter((f) => /\.partial-|\.staging/.test(f))).toEqual([]);
  }, 120_000);
});
