/**
 * Deleting a workflow removes the files only it could reach: generated stills and clips, review
 * frames and rendered videos. The account's own assets stay, and so do other workflows' files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/jobs/index.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createWorkflow, invariants, smallClips, startRender, startWorker, useSmallClips, waitForRender } from './helpers.js';
import type { FileStorage } from '../../src/storage/index.js';

describe.each(testDatabases())('deleting a rendered workflow on %s', (kind) => {
  let s: TestServer;
  let worker: Worker;

  beforeAll(async () => {
    s = await startTestServer(kind);
    useSmallClips(s);
    worker = startWorker(s, smallClips().providers);
  });
  afterAll(async () => {
    await worker?.stop({ abortAfterMs: 500 });
    if (s) await invariants(s);
    await s?.close();
  });

  it('removes its clips, stills, frames and renders, and nothing else', async () => {
    const acc = await s.account({ credits: 100 });
    const storage = s.services.storage as FileStorage;
    const render = async (wfId: string) => {
      const r = await startRender(s, acc.key, wfId);
      expect(r.status, r.text).toBe(202);
      const done = await waitForRender(s, acc.key, wfId, r.json.id);
      expect(done.status).toBe('succeeded');
      return (await s.fresh.db('renders').where({ id: r.json.id }).first()).output_key as string;
    };
    const doomed = await createWorkflow(s, acc.key, [1]);
    const kept = await createWorkflow(s, acc.key, [1]);
    const doomedVideo = storage.pathFor(await render(doomed.id));
    const keptVideo = storage.pathFor(await render(kept.id));
    const doomedClips = storage.pathFor(storage.keyFor(acc.id, doomed.id));
    const keptClips = storage.pathFor(storage.keyFor(acc.id, kept.id));
    // A review frame, and an asset of the account's own, as the review and assets modules store them.
    const frame = storage.pathFor(storage.keyFor(acc.id, `frames/${doomed.id}/clip-500.png`));
    const asset = storage.pathFor(storage.keyFor(acc.id, 'ast_keepme.png'));
    for (const file of [frame, asset]) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, 'png');
    }
    expect(fs.readdirSync(doomedClips).filter((f) => f.endsWith('.mp4')).length).toBe(1);
    for (const file of [doomedVideo, keptVideo, keptClips]) expect(fs.existsSync(file), file).toBe(true);

    const del = await call(`${s.base}/workflows/${doomed.id}`, { method: 'DELETE', key: acc.key });
    expect(del.status, del.text).toBe(204);

    for (const gone of [doomedVideo, doomedClips, path.dirname(frame)]) expect(fs.existsSync(gone), gone).toBe(false);
    for (const stays of [keptVideo, keptClips, asset]) expect(fs.existsSync(stays), stays).toBe(true);
    expect((await call(`${s.base}/workflows/${kept.id}/renders`, { key: acc.key })).json.data).toHaveLength(1);
  });
});
