/**
 * A render failed by ffmpeg told the customer ffmpeg's own words, which name the files it read:
 * "Stitching the video failed: ffmpeg exited with 1: /srv/lavendly/data/files/acc_.../x.m4a:
 * Invalid data found ..." showed every customer the server's data directory (and, for a tool it
 * could not run, where the server was installed). The message keeps the file, not the directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claim, failJob } from '../../src/jobs/index.js';
import { runFfmpeg } from '../../src/media/index.js';
import { onRenderFailed } from '../../src/renders/jobs.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createWorkflow, startRender, useSmallClips } from './helpers.js';

describe.each(testDatabases())('a render failed by ffmpeg on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
    useSmallClips(s);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('tells the customer what failed without the server\'s directories', async () => {
    const acc = await s.account({ credits: 100 });
    const wf = await createWorkflow(s, acc.key, [1]);
    const r = await startRender(s, acc.key, wf.id);
    expect(r.status, r.text).toBe(202);
    const job = await claim(s.fresh.db, { workerId: 'w', leaseMs: 60_000, types: ['render.run'], now: new Date(Date.now() + 1_000) });
    expect(job).toBeTruthy();
    // ffmpeg's real failure on a damaged file in the data directory.
    const damaged = path.join(s.fresh.dataDir, 'files', 'damaged.m4a');
    fs.mkdirSync(path.dirname(damaged), { recursive: true });
    fs.writeFileSync(damaged, 'not audio at all');
    const error = await runFfmpeg(['-i', damaged, '-f', 'null', '-']).catch((e: Error) => e);
    expect(String((error as Error).message)).toContain(damaged);
    await failJob(s.fresh.db, job!.id, { workerId: 'w' }, { reason: 'permanent', message: (error as Error).message, error }, onRenderFailed);

    const render = await call(`${s.base}/workflows/${wf.id}/renders/${r.json.id}`, { key: acc.key });
    expect(render.json.status).toBe('failed');
    expect(render.json.error.message).toMatch(/^Stitching the video failed: ffmpeg exited with 1: .*…\/files\/damaged\.m4a/s);
    expect(render.json.error.message).not.toContain(s.fresh.dataDir);
  });
});
