/**
 * The whole media path on the S3 driver, against a real s3rver: upload an image (proxied through
 * the API, checked, then put in the bucket), create a workflow whose first shot starts from it,
 * generate with the local providers (ffmpeg), review a frame, render, delete. Every link is a
 * presigned GET to the store answering the stored object's bytes, and the server's data dir
 * never holds a media file (only scratch, emptied after each job).
 */
import fs from 'node:fs';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { startJobWorker } from '../../src/cli/commands/worker.js';
import { createLogger } from '../../src/http/logging.js';
import type { RunningWorker } from '../../src/jobs/worker-main.js';
import { LocalImageProvider, probeMedia } from '../../src/media/index.js';
import { assetsConfigFromEnv, deleteAsset, setQuota } from '../../src/assets/index.js';
import { assertInvariants } from '../../src/ledger/index.js';
import type { Storage } from '../../src/storage/index.js';
import { testDatabases } from '../helpers/db.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { local, smallClips, startRender, upload, waitForRender } from '../renders/helpers.js';
import { generate, waitForGeneration } from '../generation/helpers.js';
import { makeTempDir, musicFile } from '../media/helpers.js';
import { startServer } from '../net/servers.js';
import { withWorkerEnv } from '../helpers/config.js';

/** Every regular file under `dir`, relative. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.relative(dir, path.join(d.parentPath, d.name)));
}

/** The key a presigned link names (`/<bucket>/<key>`). */
function keyOf(s3: TestS3, url: string): string {
  const u = new URL(url);
  expect(`${u.origin}`).toBe(s3.endpoint);
  expect(u.pathname.startsWith(`/${s3.bucket}/`), url).toBe(true);
  return u.pathname.slice(s3.bucket.length + 2).split('/').map(decodeURIComponent).join('/');
}

/** GETs a link and checks it answers 200 with exactly the stored object's bytes; returns them. */
async function sameAsStored(s3: TestS3, storage: Storage, url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  const got = Buffer.from(await res.arrayBuffer());
  const stored = await buffer(await storage.read(keyOf(s3, url)));
  expect(got.length).toBeGreaterThan(0);
  expect(got.equals(stored), url).toBe(true);
  return got;
}

describe.each(testDatabases())('media on the S3 driver (%s)', (kind) => {
  let s3: TestS3;
  let s: TestServer;
  let worker: RunningWorker;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let a: { id: string; key: string };
  let image: any;
  let wf: { id: string; scenes: { node_id: string }[] };
  let renderUrl: string;

  beforeAll(async () => {
    s3 = await startS3();
    s = await startTestServer(kind, { config: { storage: s3.storage }, services: { generation: smallClips() } });
    expect(s.services.storage.driver).toBe('s3');
    // The worker as `lavendly worker` wires it (generation, renders, publishing), on the same store.
    worker = await startJobWorker({
      config: withWorkerEnv(s.config, { ...process.env, LAVENDLY_WORKER_POLL_MS: '20' }), logger: createLogger({ level: 'silent' }),
      db: s.fresh.db, composed: s,
    });
    tmp = await makeTempDir(`s3-flow-${kind}`);
    a = await s.account({ credits: 100 });
  }, 60_000);

  afterAll(async () => {
    await worker?.stop({ abortAfterMs: 1000 });
    await s?.close();
    await s3?.close();
    await tmp?.cleanup();
  });

  it('uploads an image through the API into the bucket; its link is a presigned GET of those bytes', async () => {
    const file = tmp.file('lantern.png');
    await new LocalImageProvider().generateImage({ prompt: 'A paper lantern', width: 400, height: 300, outPath: file });
    image = await upload(s, a.key, file, 'image');
    expect(image).toMatchObject({ kind: 'image', content_type: 'image/png', width: 400, height: 300 });
    const got = await sameAsStored(s3, s.services.storage, image.url);
    expect(got.equals(fs.readFileSync(file))).toBe(true);
  });

  it('imports a file by URL into the bucket; deleting the asset deletes the object', async () => {
    const song = fs.readFileSync(await musicFile(tmp.file('song.m4a'), 2));
    const origin = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/mp4', 'content-length': String(song.length) });
      res.end(song);
    });
    try {
      s.services.assetsConfig = assetsConfigFromEnv({ LAVENDLY_IMPORT_ALLOW_ENDPOINTS: `127.0.0.1:${origin.port}` });
      const r = await call(`${s.base}/storage/ingest`, { key: a.key, body: { url: `${origin.origin}/song.m4a`, kind: 'music' } });
      expect(r.status, r.text).toBe(201);
      expect((await sameAsStored(s3, s.services.storage, r.json.url)).equals(song)).toBe(true);
      const key = keyOf(s3, r.json.url);
      // No endpoint deletes an asset yet; the domain function does (and gives the bytes back).
      await deleteAsset({ db: s.fresh.db, storage: s.services.storage, accountId: a.id, id: r.json.id });
      expect(await s.services.storage.stat(key)).toBeNull();
      expect(filesUnder(path.join(s.fresh.dataDir, 'files'))).toEqual([]);
    } finally {
      await origin.close();
    }
  });

  it('refuses a wrong file without leaving anything in the bucket or on disk', async () => {
    const objects = () => filesUnder(path.join(s3.directory, s3.bucket, a.id)).length;
    const count = objects();
    const slot = await call(`${s.base}/uploads`, { key: a.key, body: { kind: 'image', filename: 'notes.png' } });
    expect(slot.status, slot.text).toBe(201);
    const put = await fetch(local(s, slot.json.upload_url), {
      method: 'PUT', body: 'this is text, not a picture '.repeat(20), headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.status).toBe(415);
    expect(objects()).toBe(count);
    expect(filesUnder(path.join(s.fresh.dataDir, 'files'))).toEqual([]);
  });

  it('refuses an upload over the storage quota while it streams, leaving nothing behind', async () => {
    const b = await s.account({ credits: 0 });
    await setQuota(s.fresh.db, b.id, 5_000);
    const slot = await call(`${s.base}/uploads`, { key: b.key, body: { kind: 'image', filename: 'big.png' } });
    expect(slot.status, slot.text).toBe(201);
    const png = fs.readFileSync(tmp.file('lantern.png'));
    expect(png.length).toBeGreaterThan(5_000);
    const put = await fetch(local(s, slot.json.upload_url), { method: 'PUT', body: png, headers: { 'content-type': 'application/octet-stream' } });
    expect(put.status).toBe(413);
    expect(((await put.json()) as any).error.code).toBe('storage_quota_exceeded');
    expect(filesUnder(path.join(s3.directory, s3.bucket, b.id))).toEqual([]);
    expect(filesUnder(path.join(s.fresh.dataDir, 'files'))).toEqual([]);
  });

  it('generates clips and stills into the bucket (one shot animating the upload); links answer the stored bytes', async () => {
    const r = await call(`${s.base}/workflows`, {
      key: a.key,
      body: { name: 'Lantern', shots: [{ prompt: 'The lantern floats away', image_asset_id: image.id, duration_s: 1 }, { prompt: 'Night falls on the river', duration_s: 1 }] },
    });
    expect(r.status, r.text).toBe(201);
    wf = r.json;
    expect((await generate(s, a.key, wf.id, {})).status).toBe(202);
    const st = await waitForGeneration(s, a.key, wf.id, 120_000);
    expect(st.status, JSON.stringify(st)).toBe('succeeded');
    // The first still is the uploaded image itself; the second was drawn by the local provider.
    expect(keyOf(s3, st.scenes[0].image_url)).toBe(keyOf(s3, image.url));
    for (const scene of st.scenes) {
      await sameAsStored(s3, s.services.storage, scene.image_url);
      const clip = await sameAsStored(s3, s.services.storage, scene.clip_url);
      const local = tmp.file(`clip-${scene.node_id}.mp4`);
      fs.writeFileSync(local, clip);
      const probe = await probeMedia(local);
      expect([probe.width, probe.height, probe.hasAudio]).toEqual([320, 180, true]);
    }
    // get_workflow hands out the same kind of links.
    const got = await call(`${s.base}/workflows/${wf.id}`, { key: a.key });
    expect(got.status).toBe(200);
    for (const scene of got.json.scenes) await sameAsStored(s3, s.services.storage, scene.clip_url);

    // A clip uploaded back as a video asset plays as a track: attaching it probes the stored file.
    const sound = await upload(s, a.key, tmp.file(`clip-${st.scenes[1].node_id}.mp4`), 'video');
    await sameAsStored(s3, s.services.storage, sound.url);
    const track = await call(`${s.base}/workflows/${wf.id}/clips/${wf.scenes[0]!.node_id}/tracks`, { key: a.key, body: { asset_id: sound.id, kind: 'sfx', volume_db: -6 } });
    expect(track.status, track.text).toBe(201);
    expect(filesUnder(path.join(s.fresh.dataDir, 'files'))).toEqual([]);
  });

  it('extracts a review frame from a clip in the bucket and stores it there', async () => {
    const frame = await call(`${s.base}/workflows/${wf.id}/scene-frame`, { key: a.key, body: { node_id: wf.scenes[1]!.node_id, at_s: 0.5 } });
    expect(frame.status, frame.text).toBe(200);
    const png = await sameAsStored(s3, s.services.storage, frame.json.url);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(filesUnder(path.join(s.fresh.dataDir, 'files'))).toEqual([]);
  });

  it('renders from the bucket into the bucket; the link serves the bytes, ranges included', async () => {
    const r = await startRender(s, a.key, wf.id);
    expect(r.status, r.text).toBe(202);
    const raw = (await s.fresh.db('renders').where({ id: r.json.id }).first('plan')).plan;
    const plan = typeof raw === 'string' ? JSON.parse(raw) : raw;
    expect(plan.tracks.map((t: { kind: string }) => t.kind)).toEqual(['sfx']); // the stored track is one of the render's inputs
    const done = await waitForRender(s, a.key, wf.id, r.json.id, 120_000);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(done.duration_s).toBeCloseTo(2, 1);
    renderUrl = done.url;
    const video = await sameAsStored(s3, s.services.storage, renderUrl);
    const file = tmp.file('render.mp4');
    fs.writeFileSync(file, video);
    expect((await probeMedia(file)).durationS).toBeCloseTo(2, 1);
    const part = await fetch(renderUrl, { headers: { Range: 'bytes=100-1123' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-1123/${video.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(video.subarray(100, 1124))).toBe(true);
    expect(filesUnder(path.join(s.fresh.dataDir, 'files'))).toEqual([]);
    await assertInvariants(s.fresh.db);
  });

  it('publishes the render from the bucket (the worker fetches it to scratch for the platform)', async () => {
    const admin = await s.account({ scopes: ['admin'] });
    const ch = await call(`${s.base}/channels`, { key: admin.key, body: { account_id: a.id, platform: 'local', name: 'Folder', credentials: {} } });
    expect(ch.status, ch.text).toBe(201);
    const pub = await call(`${s.base}/workflows/${wf.id}/publish`, { key: a.key, body: { channel_id: ch.json.id, title: 'Lantern' } });
    expect(pub.status, pub.text).toBe(202);
    let published: any = null;
    const start = Date.now();
    while (!published) {
      const p = await call(`${s.base}/publications/${pub.json.id}`, { key: a.key });
      expect(p.json.status, p.text).not.toBe('failed');
      if (p.json.status === 'published') published = p.json;
      else if (Date.now() - start > 60_000) throw new Error(`not published: ${p.text}`);
      else await new Promise((r) => setTimeout(r, 50));
    }
    const stored = await buffer(await s.services.storage.read(keyOf(s3, renderUrl)));
    expect(fs.readFileSync(fileURLToPath(published.published_url)).equals(stored)).toBe(true);
    expect(filesUnder(path.join(s.fresh.dataDir, 'files'))).toEqual([]);
  });

  it('deleting the workflow deletes its clips, stills, frames and renders from the bucket, not the upload', async () => {
    const storage = s.services.storage;
    const clipsPrefix = storage.keyFor(a.id, wf.id);
    expect((await storage.list(clipsPrefix)).length).toBeGreaterThan(0);
    const del = await call(`${s.base}/workflows/${wf.id}`, { method: 'DELETE', key: a.key });
    expect(del.status, del.text).toBe(204);
    expect(await storage.list(clipsPrefix)).toEqual([]);
    expect(await storage.list(storage.keyFor(a.id, `frames/${wf.id}`))).toEqual([]);
    expect((await fetch(renderUrl)).status).toBe(404);
    await sameAsStored(s3, storage, image.url);
  });
});
