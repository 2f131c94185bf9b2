import crypto from 'node:crypto';
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getAsset, getUsage, importAsset, setQuota, type AssetsConfig } from '../../src/assets/index.js';
import { runFfmpeg } from '../../src/media/index.js';
import { testDatabases } from '../helpers/db.js';
import { pngHeaderOnly } from '../media/crafted.js';
import { startServer, type TestServer } from '../net/servers.js';
import { apiError, assetEnv, makeFixtures, PNG_HEAD, type AssetEnv } from './fixtures.js';

const MB = 1024 * 1024;
let media: Awaited<ReturnType<typeof makeFixtures>>;
let server: TestServer;

beforeAll(async () => {
  media = await makeFixtures(['a.png', 'a.jpg', 'a.mp4', 'a.mp3', 'a.wav', 'audio-only.mp4', 'long.mp4', 'long.mp3']);
  await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=s=32x24:r=10', '-frames:v', '20', media.file('anim.gif')]);
  fs.writeFileSync(media.file('huge.png'), pngHeaderOnly(16000, 16000, 16));
  server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    if (p.startsWith('/m/')) {
      // Serves a fixture under whatever Content-Type the test asks for (never trusted).
      const file = media.file(p.slice(3));
      if (!fs.existsSync(file)) {
        res.statusCode = 404;
        return res.end();
      }
      res.setHeader('content-type', url.searchParams.get('type') ?? 'application/octet-stream');
      return fs.createReadStream(file).pipe(res);
    }
    if (p === '/stream') {
      // PNG magic followed by `mb` MB, chunked: no Content-Length to go by.
      const total = Number(url.searchParams.get('mb')) * MB;
      let sent = 0;
      const chunk = Buffer.alloc(256 * 1024);
      PNG_HEAD.copy(chunk);
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => { sent = total; });
      return pump();
    }
    if (p === '/declared') {
      res.setHeader('content-length', String(Number(url.searchParams.get('mb')) * MB));
      res.write(PNG_HEAD);
      return; // the header alone must be enough to refuse
    }
    if (p === '/html') {
      res.setHeader('content-type', 'image/png');
      return res.end('<html><script>alert(document.cookie)</script></html>');
    }
    if (p === '/redirect') {
      res.statusCode = 302;
      res.setHeader('location', url.searchParams.get('to')!);
      return res.end();
    }
    res.statusCode = 404;
    res.end();
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  media?.cleanup();
});

const config = (extra: AssetsConfig = {}): AssetsConfig => ({ addressPolicy: { allowEndpoints: [`127.0.0.1:${server.port}`] }, ...extra });

describe.each(testDatabases())('importAsset on %s', (dbKind) => {
  let env: AssetEnv;
  beforeAll(async () => {
    env = await assetEnv(dbKind);
  });
  afterEach(async () => {
    await env.reset();
  });
  afterAll(async () => {
    await env.close();
  });
  const deps = (extra?: AssetsConfig) => ({ db: env.fresh.db, storage: env.storage, config: config(extra), accountId: 'acc_1' });

  it('imports an image: type sniffed (declared type ignored), size, signed URL, usage counted', async () => {
    const asset = await importAsset({ ...deps(), url: `${server.origin}/m/a.png?type=video/mp4`, kind: 'image' });
    const bytes = fs.readFileSync(media.file('a.png'));
    expect(asset).toMatchObject({ kind: 'image', content_type: 'image/png', bytes: bytes.length, width: 32, height: 24, duration_s: null, source: 'url' });
    expect(asset.id).toMatch(/^ast_/);
    expect(asset.sha256).toBe(crypto.createHash('sha256').update(bytes).digest('hex'));
    const check = env.storage.verifySignedUrl(asset.url);
    expect(check.ok).toBe(true);
    if (check.ok) expect(fs.readFileSync(env.storage.pathFor(check.key)).equals(bytes)).toBe(true);
    expect(env.storedFiles()).toHaveLength(1);
    expect((await getUsage(env.fresh.db, 'acc_1')).usedBytes).toBe(bytes.length);
    expect((await getAsset({ ...deps(), id: asset.id })).id).toBe(asset.id);
    expect((await apiError(getAsset({ ...deps(), accountId: 'acc_2', id: asset.id }))).status).toBe(404);
  });

  it('imports video and music with their durations', async () => {
    const video = await importAsset({ ...deps(), url: `${server.origin}/m/a.mp4`, kind: 'video' });
    expect(video).toMatchObject({ content_type: 'video/mp4', width: 64, height: 48 });
    expect(video.duration_s).toBeCloseTo(2, 0);
    const music = await importAsset({ ...deps(), url: `${server.origin}/m/a.mp3`, kind: 'music' });
    expect(music).toMatchObject({ content_type: 'audio/mpeg', width: null, height: null });
    expect(music.duration_s).toBeCloseTo(2, 0);
    const sfx = await importAsset({ ...deps(), url: `${server.origin}/m/a.wav`, kind: 'sfx' });
    expect(sfx.content_type).toBe('audio/wav');
  });

  describe('limits: each one aborts with a clear error and leaves no file', () => {
    it('image over 25 MB, streamed without a Content-Length: cut while streaming', async () => {
      const err = await apiError(importAsset({ ...deps(), url: `${server.origin}/stream?mb=40`, kind: 'image' }));
      expect(err.status).toBe(413);
      expect(err.code).toBe('asset_too_large');
      expect(err.details).toMatchObject({ kind: 'image', limit: 25 * MB });
      expect(env.storedFiles()).toEqual([]);
    });

    it('video over 300 MB and music over 50 MB by Content-Length: refused before the body', async () => {
      for (const [kind, mb, max] of [['video', 301, 300], ['music', 51, 50], ['voice', 51, 50]] as const) {
        const started = Date.now();
        const err = await apiError(importAsset({ ...deps(), url: `${server.origin}/declared?mb=${mb}`, kind }));
        expect(err.code).toBe('asset_too_large');
        expect(err.details).toMatchObject({ limit: max * MB, declared_bytes: mb * MB });
        expect(Date.now() - started).toBeLessThan(3000);
      }
      expect(env.storedFiles()).toEqual([]);
    });

    it('limits are configurable', async () => {
      const err = await apiError(importAsset({ ...deps({ limits: { image: { maxBytes: 100 } } }), url: `${server.origin}/m/a.jpg`, kind: 'image' }));
      expect(err.code).toBe('asset_too_large');
      expect(env.storedFiles()).toEqual([]);
    });

    it('video over 3 minutes (a 4-minute file), by probing', async () => {
      const err = await apiError(importAsset({ ...deps(), url: `${server.origin}/m/long.mp4`, kind: 'video' }));
      expect(err.status).toBe(413);
      expect(err.code).toBe('duration_too_long');
      expect(err.details).toMatchObject({ kind: 'video', limit: 180 });
      expect(err.details.duration_s).toBeCloseTo(240, 0);
      expect(env.storedFiles()).toEqual([]);
      expect((await getUsage(env.fresh.db, 'acc_1')).usedBytes).toBe(0);
    });

    it('music over 10 minutes (an 11-minute file), by probing', async () => {
      const err = await apiError(importAsset({ ...deps(), url: `${server.origin}/m/long.mp3`, kind: 'music' }));
      expect(err.code).toBe('duration_too_long');
      expect(err.details).toMatchObject({ limit: 600 });
      expect(env.storedFiles()).toEqual([]);
    });

    it('storage quota: the import that does not fit is refused, in SQL, and usage stays exact', async () => {
      const size = fs.statSync(media.file('a.mp4')).size;
      await setQuota(env.fresh.db, 'acc_1', Math.floor(size * 1.5));
      await importAsset({ ...deps(), url: `${server.origin}/m/a.mp4`, kind: 'video' });
      const err = await apiError(importAsset({ ...deps(), url: `${server.origin}/m/a.mp4`, kind: 'video' }));
      expect(err.code).toBe('storage_quota_exceeded');
      expect(err.status).toBe(413);
      expect(err.details).toMatchObject({ limit: Math.floor(size * 1.5), used_bytes: size });
      expect(env.storedFiles()).toHaveLength(1);
      expect((await getUsage(env.fresh.db, 'acc_1')).usedBytes).toBe(size);
    });

    it('storage quota under concurrency: of two imports that each fit alone, exactly one lands', async () => {
      const size = fs.statSync(media.file('a.mp4')).size;
      await setQuota(env.fresh.db, 'acc_1', Math.floor(size * 1.5));
      const results = await Promise.allSettled([0, 1, 2].map(() => importAsset({ ...deps(), url: `${server.origin}/m/a.mp4`, kind: 'video' })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as { code: string }).code).toBe('storage_quota_exceeded');
      expect((await getUsage(env.fresh.db, 'acc_1')).usedBytes).toBe(size);
      expect(env.storedFiles()).toHaveLength(1);
    });

    it('storage quota: the CHECK constraint refuses any write past the quota', async () => {
      await setQuota(env.fresh.db, 'acc_1', 1000);
      await expect(env.fresh.db('storage_usage').where({ account_id: 'acc_1' }).update({ used_bytes: 1001 })).rejects.toThrow();
    });

    it('storage quota is also the streaming cap: a file bigger than what is left is cut off while streaming', async () => {
      await setQuota(env.fresh.db, 'acc_1', 2 * MB);
      const err = await apiError(importAsset({ ...deps(), url: `${server.origin}/stream?mb=10`, kind: 'image' }));
      expect(err.code).toBe('storage_quota_exceeded');
      expect(env.storedFiles()).toEqual([]);
    });
  });

  describe('content type from the bytes', () => {
    it.each([
      ['a.mp4', 'image', 'video/mp4'],
      ['a.png', 'video', 'image/png'],
      ['a.mp3', 'video', 'audio/mpeg'],
      ['a.mp4', 'music', 'video/mp4'], // has a real video stream
      ['audio-only.mp4', 'video', 'video/mp4'], // MP4 container, but no video stream
      ['a.png', 'music', 'image/png'],
    ] as const)('%s imported as %s -> 415', async (file, kind, detected) => {
      const err = await apiError(importAsset({ ...deps(), url: `${server.origin}/m/${file}?type=image/png`, kind }));
      expect(err.status).toBe(415);
      expect(err.code).toBe('unsupported_media_type');
      expect(err.details).toMatchObject({ kind, detected_type: detected });
      expect(err.message).toMatch(new RegExp(`^An? ${kind} asset must be an? (image|video|audio) file, but this is`));
      expect(env.storedFiles()).toEqual([]);
    });

    it('HTML declared as image/png -> 415', async () => {
      const err = await apiError(importAsset({ ...deps(), url: `${server.origin}/html`, kind: 'image' }));
      expect(err.code).toBe('unsupported_media_type');
      expect(env.storedFiles()).toEqual([]);
    });

    it('an animated GIF -> 415; a picture declaring 16000x16000 -> 413 naming the pixel limit (uploads share the checks)', async () => {
      const anim = await apiError(importAsset({ ...deps(), url: `${server.origin}/m/anim.gif`, kind: 'image' }));
      expect(anim).toMatchObject({ status: 415, code: 'unsupported_media_type' });
      expect(anim.message).toMatch(/^Animated images are not supported/);
      const huge = await apiError(importAsset({ ...deps(), url: `${server.origin}/m/huge.png`, kind: 'image' }));
      expect(huge).toMatchObject({ status: 413, code: 'asset_too_large' });
      expect(huge.message).toMatch(/^An image may be at most 40 MP/);
      expect(env.storedFiles()).toEqual([]);
    });

    it('bytes that only look like media (right magic, damaged body) -> 415', async () => {
      const err = await apiError(importAsset({ ...deps(), url: `${server.origin}/stream?mb=1`, kind: 'image' }));
      expect(err).toMatchObject({ status: 415, code: 'unsupported_media_type' });
      expect(err.details).toMatchObject({ reason: 'unreadable_media', detected_type: 'image/png' });
      expect(env.storedFiles()).toEqual([]);
    });

    it('an unknown kind is a validation error', async () => {
      expect((await apiError(importAsset({ ...deps(), url: `${server.origin}/m/a.png`, kind: 'document' }))).code).toBe('validation_error');
    });
  });

  describe('server-side request forgery', () => {
    it.each([
      'http://127.0.0.1/',
      'http://[::1]/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:127.0.0.1]/',
      'http://2130706433/',
      'http://0x7f000001/',
      'http://localhost/',
      'http://10.0.0.1/x.png',
      'file:///etc/passwd',
      'http://cdn.example.com:0/a.png', // port 0 would connect to port 80
    ])('%s -> 400 url_not_allowed', async (url) => {
      const err = await apiError(importAsset({ ...deps(), url, kind: 'image' }));
      expect(err.status).toBe(400);
      expect(err.code).toBe('url_not_allowed');
      expect(err.message).not.toMatch(/127\.0\.0\.1|169\.254/); // says nothing about where things point
    });

    it('redirects to internal addresses are refused', async () => {
      for (const to of ['http://169.254.169.254/latest/meta-data/', 'http://127.0.0.1:1/', `http://[::ffff:7f00:1]:${server.port}/m/a.png`]) {
        const err = await apiError(importAsset({ ...deps(), url: `${server.origin}/redirect?to=${encodeURIComponent(to)}`, kind: 'image' }));
        expect(err.code).toBe('url_not_allowed');
      }
      expect(env.storedFiles()).toEqual([]);
    });

    it('without the explicit test exception, the local test server itself is refused', async () => {
      const err = await apiError(importAsset({ db: env.fresh.db, storage: env.storage, accountId: 'acc_1', url: `${server.origin}/m/a.png`, kind: 'image' }));
      expect(err.code).toBe('url_not_allowed');
    });

    it('a host name answered with an internal address is refused', async () => {
      const err = await apiError(importAsset({ ...deps({ resolve: async () => [{ address: '10.1.2.3', family: 4 }] }), url: 'https://cdn.example.com/a.png', kind: 'image' }));
      expect(err.code).toBe('url_not_allowed');
      expect(err.message).not.toContain('10.1.2.3');
    });
  });

  it('a source that cannot be fetched is 400 source_unreachable, with a reason', async () => {
    const notFound = await apiError(importAsset({ ...deps(), url: `${server.origin}/m/missing.png`, kind: 'image' }));
    expect(notFound).toMatchObject({ status: 400, code: 'source_unreachable' });
    expect(notFound.details).toMatchObject({ reason: 'http_status', upstream_status: 404 });
    const dns = await apiError(importAsset({ ...deps({ resolve: async () => { throw new Error('ENOTFOUND'); } }), url: 'https://nowhere.example.com/a.png', kind: 'image' }));
    expect(dns.details).toMatchObject({ reason: 'dns_failed' });
  });
});
