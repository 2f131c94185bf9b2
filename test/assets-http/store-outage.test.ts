/**
 * Uploads and imports while the media store (s3rver behind a switchable TCP relay) is down or
 * hangs: the answer is a prompt 503 `unavailable` with Retry-After that names no internal address
 * (the log has it), nothing is recorded, and the same upload URL works once the store is back
 * (our store failing does not spend the client's slot).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetsConfigFromEnv } from '../../src/assets/index.js';
import { LocalImageProvider } from '../../src/media/index.js';
import { testDatabases } from '../helpers/db.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { startStoreRelay, type StoreRelay } from '../helpers/store-relay.js';
import { fixtureClip, makeTempDir } from '../media/helpers.js';
import { startServer } from '../net/servers.js';
import { local, upload } from '../renders/helpers.js';

describe.each(testDatabases())('uploads and imports with the store failing (%s)', (kind) => {
  let s3: TestS3;
  let relay: StoreRelay;
  let s: TestServer;
  let a: { id: string; key: string };
  let png: Buffer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;

  beforeAll(async () => {
    s3 = await startS3();
    relay = await startStoreRelay(Number(new URL(s3.endpoint).port));
    s = await startTestServer(kind, { config: { storage: { ...s3.storage, endpoint: relay.endpoint, timeoutMs: 300 } } });
    a = await s.account();
    tmp = await makeTempDir(`store-outage-${kind}`);
    const file = tmp.file('lantern.png');
    await new LocalImageProvider().generateImage({ prompt: 'A paper lantern', width: 160, height: 120, outPath: file });
    png = fs.readFileSync(file);
  }, 60_000);

  afterAll(async () => {
    await relay?.set('pass');
    await s?.close();
    await relay?.close();
    await s3?.close();
    await tmp?.cleanup();
  });

  const slotFor = async () => {
    const slot = await call(`${s.base}/uploads`, { key: a.key, body: { kind: 'image', filename: 'lantern.png', bytes: png.length } });
    expect(slot.status, slot.text).toBe(201);
    return slot.json as { id: string; upload_url: string };
  };
  const put = (url: string) => call(local(s, url), { method: 'PUT', rawBody: png, headers: { 'content-type': 'application/octet-stream' } });
  const assets = async () => Number((await s.fresh.db('assets').where({ account_id: a.id }).count<{ n: number }[]>({ n: '*' }).first())?.n ?? 0);

  for (const mode of ['down', 'hang'] as const) {
    it(`an upload while the store is ${mode} answers 503 with Retry-After; the same URL works once it is back`, async () => {
      const slot = await slotFor();
      const before = await assets();
      await relay.set(mode);
      const started = Date.now();
      const failed = await put(slot.upload_url);
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(failed.status, failed.text).toBe(503);
      expect(failed.headers.get('retry-after')).toBe('5');
      expect(failed.json.error).toMatchObject({ code: 'unavailable', retry_after: 5 });
      expect(failed.text).not.toContain('127.0.0.1');
      expect(await assets()).toBe(before);
      expect(await s.fresh.db('upload_slots').where({ id: slot.id }).first()).toMatchObject({ status: 'open' });
      // The details are the operator's: in the log, under the request's id.
      const logged = s.logs.find((l) => l.msg === 'media store unavailable' && l.request_id === failed.json.error.request_id);
      expect(JSON.stringify(logged?.err)).toMatch(mode === 'down' ? /ECONNREFUSED/ : /timed out|TimeoutError/);

      await relay.set('pass');
      const retried = await put(slot.upload_url);
      expect(retried.status, retried.text).toBe(201);
      expect(await assets()).toBe(before + 1);
    }, 30_000);
  }

  it('a video attached as a track while the store is down answers 503, not "a video without sound"', async () => {
    const video = await upload(s, a.key, await fixtureClip(tmp.file('talk.mp4'), { durationS: 1, audio: 'sine=frequency=440' }), 'video');
    const wf = await call(`${s.base}/workflows`, { key: a.key, body: { name: 'Talk', shots: [{ prompt: 'A fox talks', duration_s: 1 }] } });
    expect(wf.status, wf.text).toBe(201);
    await relay.set('down');
    try {
      const r = await call(`${s.base}/workflows/${wf.json.id}/clips/${wf.json.scenes[0].node_id}/tracks`, { key: a.key, body: { asset_id: video.id, kind: 'sfx' } });
      expect(r.status, r.text).toBe(503);
      expect(r.json.error.code).toBe('unavailable');
    } finally {
      await relay.set('pass');
    }
  }, 30_000);

  it('an import while the store is down answers 503, and records nothing', async () => {
    const origin = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(png.length) });
      res.end(png);
    });
    try {
      s.services.assetsConfig = assetsConfigFromEnv({ LAVENDLY_IMPORT_ALLOW_ENDPOINTS: `127.0.0.1:${origin.port}` });
      const before = await assets();
      await relay.set('down');
      const r = await call(`${s.base}/storage/ingest`, { key: a.key, body: { url: `${origin.origin}/lantern.png`, kind: 'image' } });
      expect(r.status, r.text).toBe(503);
      expect(r.headers.get('retry-after')).toBe('5');
      expect(r.json.error.code).toBe('unavailable');
      expect(await assets()).toBe(before);
    } finally {
      await relay.set('pass');
      await origin.close();
    }
  }, 30_000);
});
