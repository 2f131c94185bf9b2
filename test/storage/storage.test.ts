import fs from 'node:fs';
import type http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/http/errors.js';
import { parseRange, serveSignedFiles } from '../../src/http/files.js';
import { FileStorage, loadSigningSecret, SECRET_FILE } from '../../src/storage/index.js';
import { tempDir } from '../net/servers.js';

let dataDir: string;
let storage: FileStorage;
let server: http.Server;
let base: string;
const content = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
let key: string;

beforeAll(async () => {
  dataDir = tempDir('lavendly-storage-');
  // base URL is known only after listen; the storage is re-created with it below
  const app = new Koa();
  // Stands in for the app's envelope middleware: ApiError -> { error: { code, message, request_id, ...details } }.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      ctx.status = err.status;
      ctx.set(err.headers);
      ctx.body = { error: { code: err.code, message: err.message, request_id: 'req_test', ...err.details } };
    }
  });
  app.use((ctx, next) => serveSignedFiles(storage)(ctx, next));
  app.use((ctx) => {
    ctx.body = 'fallthrough';
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  storage = await FileStorage.open({ dataDir, publicBaseUrl: base, signingSecret: null });
  key = storage.keyFor('acc_1', 'clip.mp4');
  fs.mkdirSync(path.dirname(storage.pathFor(key)), { recursive: true });
  fs.writeFileSync(storage.pathFor(key), content);
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('signing secret', () => {
  it('is generated once per data dir, persisted, and reused', async () => {
    const dir = tempDir('lavendly-secret-');
    try {
      const [a, b] = await Promise.all([loadSigningSecret({ dataDir: dir, signingSecret: null }), loadSigningSecret({ dataDir: dir, signingSecret: null })]);
      expect(a.equals(b)).toBe(true);
      expect(a.length).toBeGreaterThanOrEqual(40);
      const file = path.join(dir, SECRET_FILE);
      expect(fs.statSync(file).mode & 0o077).toBe(0);
      expect((await loadSigningSecret({ dataDir: dir, signingSecret: null })).equals(a)).toBe(true);
      expect((await loadSigningSecret({ dataDir: dir, signingSecret: 'configured-secret-value' })).toString()).toBe('configured-secret-value');
      await expect(loadSigningSecret({ dataDir: dir, signingSecret: 'short' })).rejects.toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('keys', () => {
  it('refuses keys that could escape the files folder or reach hidden files', () => {
    for (const bad of ['../x', 'acc/../../etc/passwd', '/etc/passwd', 'acc/.staging', 'acc', 'acc//x', 'acc/x y', 'acc/\u0000']) {
      expect(() => storage.pathFor(bad), bad).toThrow();
    }
    expect(storage.pathFor('acc_1/a.png')).toBe(path.join(dataDir, 'files', 'acc_1', 'a.png'));
  });
});

describe('staging sweep', () => {
  it('removes what crashed transfers left behind, keeps transfers still being written', async () => {
    const fresh = await FileStorage.open({ dataDir: tempDir('lavendly-staging-'), publicBaseUrl: 'http://x', signingSecret: null });
    expect(await fresh.sweepStaging()).toBe(0); // no staging folder yet
    const abandoned = fresh.stagingPath();
    const live = fresh.stagingPath();
    fs.mkdirSync(path.dirname(abandoned), { recursive: true });
    fs.writeFileSync(abandoned, 'half an upload');
    fs.writeFileSync(live, 'an upload in progress');
    const sevenHoursAgo = new Date(Date.now() - 7 * 3600_000);
    fs.utimesSync(abandoned, sevenHoursAgo, sevenHoursAgo);
    // Old by its mtime is not enough: a file is removed once seen unchanged on two sweeps
    // (confirmMs apart; a clock step makes every live file look old at once).
    const SIX_HOURS = 6 * 3600_000;
    expect(await fresh.sweepStaging(SIX_HOURS, Date.now(), 0)).toBe(0);
    expect(fs.existsSync(abandoned)).toBe(true);
    expect(await fresh.sweepStaging(SIX_HOURS, Date.now(), 0)).toBe(1);
    expect(fs.existsSync(abandoned)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
    // A shorter limit reaches the younger file too (seen unchanged already).
    expect(await fresh.sweepStaging(0, Date.now() + 1000, 0)).toBe(1);
    expect(fs.readdirSync(path.dirname(live))).toEqual([]);
  });
});

describe('signed URLs', () => {
  it('verifies its own URLs and refuses edited, forged, expired or foreign ones', () => {
    const url = storage.signedUrl(key, { expiresInS: 60 });
    expect(url.startsWith(`${base}/files/acc_1/clip.mp4?exp=`)).toBe(true);
    expect(storage.verifySignedUrl(url)).toMatchObject({ ok: true, key });
    const u = new URL(url);
    const exp = Number(u.searchParams.get('exp'));
    const sig = u.searchParams.get('sig')!;
    expect(storage.verifySignedUrl({ key, exp: exp + 3600, sig })).toMatchObject({ ok: false, reason: 'invalid_signature' });
    expect(storage.verifySignedUrl({ key: 'acc_2/clip.mp4', exp, sig })).toMatchObject({ ok: false, reason: 'invalid_signature' });
    const flipped = sig[0] === 'A' ? `B${sig.slice(1)}` : `A${sig.slice(1)}`;
    expect(storage.verifySignedUrl({ key, exp, sig: flipped })).toMatchObject({ ok: false, reason: 'invalid_signature' });
    expect(storage.verifySignedUrl({ key, exp, sig: undefined })).toMatchObject({ ok: false, reason: 'malformed' });
    expect(storage.verifySignedUrl(url, new Date(exp * 1000 + 1))).toMatchObject({ ok: false, reason: 'expired' });
    const other = new FileStorage({ dataDir, publicBaseUrl: base, secret: Buffer.from('another-secret-entirely') });
    expect(other.verifySignedUrl(url)).toMatchObject({ ok: false, reason: 'invalid_signature' });
    // a signature for another purpose (e.g. an upload slot) is not a file signature
    expect(storage.verifySignedUrl({ key, exp, sig: storage.sign('upload-slot:v1', `${key}\n${exp}`) })).toMatchObject({ ok: false, reason: 'invalid_signature' });
  });
});

describe('signed URLs under a public URL with a path', () => {
  it('verifies its own URLs (the path had to be /files/... before)', () => {
    const prefixed = new FileStorage({ dataDir, publicBaseUrl: 'https://videos.example/api%20v1/caf%C3%A9', secret: Buffer.from('prefix-secret') });
    const url = prefixed.signedUrl('acc_1/clip.mp4');
    expect(new URL(url).pathname).toBe('/api%20v1/caf%C3%A9/files/acc_1/clip.mp4');
    expect(prefixed.verifySignedUrl(url)).toMatchObject({ ok: true, key: 'acc_1/clip.mp4' });
    expect(prefixed.verifySignedUrl(url.replace('/api%20v1/caf%C3%A9', ''))).toMatchObject({ ok: false, reason: 'malformed' });
  });
});

describe('serveSignedFiles', () => {
  it('serves a valid URL with the right type and headers', async () => {
    const res = await fetch(storage.signedUrl(key));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-length')).toBe(String(content.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true);
  });

  it('refuses an expired URL with a 403 envelope', async () => {
    const url = storage.signedUrl(key, { expiresInS: 60, now: new Date(Date.now() - 3600_000) });
    const res = await fetch(url);
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; reason: string; request_id: string } };
    expect(body.error).toMatchObject({ code: 'forbidden', reason: 'expired', request_id: 'req_test' });
  });

  it('refuses tampered URLs (signature, expiry, key) and unsigned ones with a 403 envelope', async () => {
    const url = new URL(storage.signedUrl(key));
    const variants: string[] = [];
    const t1 = new URL(url);
    t1.searchParams.set('exp', String(Number(url.searchParams.get('exp')) + 86400));
    variants.push(t1.href);
    const t2 = new URL(url);
    t2.searchParams.set('sig', 'x'.repeat(43));
    variants.push(t2.href);
    variants.push(url.href.replace('/acc_1/', '/acc_2/'));
    variants.push(`${base}/files/acc_1/clip.mp4`);
    for (const v of variants) {
      const res = await fetch(v);
      expect(res.status, v).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
  });

  it('answers a signed link to a missing file with 404 and does not touch other paths', async () => {
    const res = await fetch(storage.signedUrl('acc_1/gone.mp4'));
    expect(res.status).toBe(404);
    expect(await (await fetch(`${base}/other`)).text()).toBe('fallthrough');
    const post = await fetch(storage.signedUrl(key), { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('honours byte ranges (206) for players, and 416 outside the file', async () => {
    const url = storage.signedUrl(key);
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      ['bytes=9990-', 9990, 9999],
      ['bytes=-10', 9990, 9999],
      ['bytes=100-200000', 100, 9999],
    ];
    for (const [range, start, end] of cases) {
      const res = await fetch(url, { headers: { range } });
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${content.length}`);
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      expect(Buffer.from(await res.arrayBuffer()).equals(content.subarray(start, end + 1))).toBe(true);
    }
    const bad = await fetch(url, { headers: { range: 'bytes=20000-' } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe(`bytes */${content.length}`);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('range_not_satisfiable');
    // several ranges or junk: the whole file
    const multi = await fetch(url, { headers: { range: 'bytes=0-1,5-6' } });
    expect(multi.status).toBe(200);
    await multi.arrayBuffer();
    // If-Range with a stale validator: the whole file
    const stale = await fetch(url, { headers: { range: 'bytes=0-1', 'if-range': '"stale"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(content.length));
  });

  it('parseRange edge cases', () => {
    expect(parseRange(undefined, 10)).toBeNull();
    expect(parseRange('items=0-1', 10)).toBeNull();
    expect(parseRange('bytes=5-2', 10)).toBeNull();
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
    expect(parseRange('bytes=-50', 10)).toEqual({ start: 0, end: 9 });
  });
});
