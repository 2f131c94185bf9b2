/**
 * The storage contract: the same cases against the local driver (a data dir, links served by the
 * API's /files route) and the S3 driver (a real s3rver over HTTP, presigned links), so code above
 * the interface cannot tell them apart.
 */
import fs from 'node:fs';
import type http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/http/errors.js';
import { serveSignedFiles } from '../../src/http/files.js';
import { createStorage, FileMissingError, type Storage } from '../../src/storage/index.js';
import { tempDir } from '../net/servers.js';
import { startS3, type TestS3 } from '../helpers/s3.js';

const content = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7) % 251));

/** A server with only the /files route (and the envelope's error shape), for the local driver's links. */
async function filesServer(get: () => Storage): Promise<{ base: string; close(): Promise<void> }> {
  const app = new Koa();
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      ctx.status = err.status;
      ctx.set(err.headers);
      ctx.body = { error: { code: err.code, message: err.message } };
    }
  });
  app.use((ctx, next) => serveSignedFiles(get())(ctx, next));
  const server: http.Server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return { base, close: () => new Promise((r) => server.close(() => r())) };
}

for (const driver of ['local', 's3'] as const) {
  describe(`storage contract: ${driver} driver`, () => {
    let storage: Storage;
    let dataDir: string;
    let s3: TestS3 | null = null;
    let files: { base: string; close(): Promise<void> };
    let n = 0;
    /** A fresh key in a fresh account folder, so cases do not see each other's files. */
    const freshKey = (name = 'clip.mp4') => storage.keyFor(`acc_${driver}_${++n}`, name);

    /** Stores `bytes` under `key` the way the app does: staged locally, then moved in. */
    async function put(key: string, bytes: Buffer = content): Promise<void> {
      const staged = storage.stagingPath();
      fs.mkdirSync(path.dirname(staged), { recursive: true });
      fs.writeFileSync(staged, bytes);
      await storage.moveIn(staged, key);
      expect(fs.existsSync(staged)).toBe(false);
    }

    beforeAll(async () => {
      dataDir = tempDir(`lavendly-contract-${driver}-`);
      files = await filesServer(() => storage);
      if (driver === 's3') s3 = await startS3();
      storage = createStorage({ dataDir, publicBaseUrl: files.base, secret: Buffer.from('contract-test-signing-secret'), storage: s3?.storage });
      expect(storage.driver).toBe(driver);
    }, 60_000);

    afterAll(async () => {
      await files.close();
      await s3?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('stores a file and reads it back whole, by range and through stat', async () => {
      const key = freshKey();
      await put(key);
      const stat = await storage.stat(key);
      expect(stat?.size).toBe(content.length);
      expect(stat!.mtime).toBeInstanceOf(Date);
      expect((await buffer(await storage.read(key))).equals(content)).toBe(true);
      expect((await buffer(await storage.read(key, { start: 1000, end: 1999 }))).equals(content.subarray(1000, 2000))).toBe(true);
      expect((await buffer(await storage.read(key, { start: content.length - 1, end: content.length - 1 }))).equals(content.subarray(-1))).toBe(true);
    });

    it('overwrites a key with a new file', async () => {
      const key = freshKey();
      await put(key);
      await put(key, Buffer.from('second version'));
      expect((await buffer(await storage.read(key))).toString()).toBe('second version');
      expect((await storage.stat(key))?.size).toBe(14);
    });

    it('answers a missing key clearly: stat null, read and localCopy FileMissingError', async () => {
      const key = freshKey();
      expect(await storage.stat(key)).toBeNull();
      await expect(storage.read(key)).rejects.toBeInstanceOf(FileMissingError);
      await expect(storage.read(key)).rejects.toThrow(`No stored file under the key ${key}`);
      await expect(storage.localCopy(key)).rejects.toBeInstanceOf(FileMissingError);
      // A folder key is not a file either.
      await put(`${key}/inside.png`, Buffer.from('x'));
      expect(await storage.stat(key)).toBeNull();
      await expect(storage.read(key)).rejects.toBeInstanceOf(FileMissingError);
    });

    it('removes a file; removing a missing one is not an error', async () => {
      const key = freshKey();
      await put(key);
      await storage.remove(key);
      expect(await storage.stat(key)).toBeNull();
      await storage.remove(key);
    });

    it('lists and removes a folder with everything under it, and nothing beside it', async () => {
      const account = `acc_${driver}_tree`;
      const keep = [storage.keyFor(account, 'wf_1x/kept.mp4'), storage.keyFor(account, 'wf_2/clip.mp4')];
      const doomed = [storage.keyFor(account, 'wf_1/a.mp4'), storage.keyFor(account, 'wf_1/b.png'), storage.keyFor(account, 'wf_1/deep/c.mp4')];
      for (const key of [...keep, ...doomed]) await put(key, Buffer.from(key));
      expect(await storage.list(storage.keyFor(account, 'wf_1'))).toEqual([...doomed].sort());
      expect(await storage.list(storage.keyFor(account, 'nothing'))).toEqual([]);
      await storage.removeTree(storage.keyFor(account, 'wf_1'));
      for (const key of doomed) expect(await storage.stat(key)).toBeNull();
      for (const key of keep) expect((await buffer(await storage.read(key))).toString()).toBe(key);
      await storage.removeTree(storage.keyFor(account, 'wf_1')); // again: nothing left, no error
    });

    it('gives a local copy with the right bytes and extension; release cleans scratch only', async () => {
      const key = freshKey('still.png');
      await put(key);
      const copy = await storage.localCopy(key);
      expect(path.extname(copy.path)).toBe('.png');
      expect(fs.readFileSync(copy.path).equals(content)).toBe(true);
      await copy.release();
      expect(fs.existsSync(copy.path)).toBe(driver === 'local'); // the local driver's copy is the file itself
      expect(await storage.stat(key)).not.toBeNull();
    });

    it('produce stores what the writer wrote, and nothing when the writer fails', async () => {
      const key = freshKey('render.mp4');
      const result = await storage.produce(key, async (out) => {
        expect(path.extname(out)).toBe('.mp4');
        fs.writeFileSync(out, content);
        return 'done';
      });
      expect(result).toBe('done');
      expect((await buffer(await storage.read(key))).equals(content)).toBe(true);

      const failed = freshKey('render.mp4');
      let scratch = '';
      await expect(storage.produce(failed, async (out) => {
        scratch = out;
        fs.writeFileSync(out, 'half');
        throw new Error('ffmpeg died');
      })).rejects.toThrow('ffmpeg died');
      if (driver === 's3') {
        expect(await storage.stat(failed)).toBeNull();
        expect(fs.existsSync(scratch)).toBe(false);
      }
      expect(fs.readdirSync(path.join(storage.root, '.staging')).length).toBe(0);
    });

    it('refuses keys that are not keys', async () => {
      await expect(storage.stat('../etc/passwd')).rejects.toThrow(/invalid file key/);
      await expect(storage.read('acc/.hidden')).rejects.toThrow(/invalid file key/);
      expect(() => storage.signedUrl('nokey')).toThrow(/invalid file key/);
    });

    it('signed links answer over real HTTP: 200 whole, 206 ranges, refused when forged or expired', async () => {
      const key = freshKey();
      await put(key);
      const url = storage.signedUrl(key, { expiresInS: 600 });
      if (driver === 's3') expect(url, url).toMatch(new RegExp(`^${s3!.endpoint}/${s3!.bucket}/`));
      else expect(url.startsWith(`${files.base}/files/`)).toBe(true);

      const whole = await fetch(url);
      expect(whole.status).toBe(200);
      expect(whole.headers.get('content-type')).toBe('video/mp4');
      expect(Buffer.from(await whole.arrayBuffer()).equals(content)).toBe(true);

      const part = await fetch(url, { headers: { Range: 'bytes=5000-5099' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 5000-5099/${content.length}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(content.subarray(5000, 5100))).toBe(true);

      const open = await fetch(url, { headers: { Range: `bytes=${content.length - 10}-` } });
      expect(open.status).toBe(206);
      expect(Buffer.from(await open.arrayBuffer()).equals(content.subarray(-10))).toBe(true);
      if (driver === 'local') {
        // Suffix ranges: S3 serves them, but s3rver (the test server) reads `bytes=-10` as 0-10.
        const tail = await fetch(url, { headers: { Range: 'bytes=-10' } });
        expect(tail.status).toBe(206);
        expect(Buffer.from(await tail.arrayBuffer()).equals(content.subarray(-10))).toBe(true);
      }

      const forged = new URL(url);
      if (driver === 'local') {
        const sig = forged.searchParams.get('sig')!;
        forged.searchParams.set('sig', `${sig[0] === 'a' ? 'b' : 'a'}${sig.slice(1)}`);
      } else {
        // s3rver checks the key id and the expiry of a SigV4 link but not its signature; that the
        // signature is S3's own is checked against the AWS SDK's presigner (sigv4.test.ts).
        forged.searchParams.set('X-Amz-Credential', forged.searchParams.get('X-Amz-Credential')!.replace(/^[^/]+/, 'SOMEONEELSE'));
      }
      expect((await fetch(forged)).status).toBe(403);

      const expired = storage.signedUrl(key, { expiresInS: 1, now: new Date(Date.now() - 3600_000) });
      expect((await fetch(expired)).status).toBe(403);

      await storage.remove(key);
      expect((await fetch(url)).status).toBe(404);
    });

    it('the /files route serves this driver too (links issued before a switch keep working)', async () => {
      const key = freshKey();
      await put(key);
      const url = storage.apiSignedUrl(key).url;
      const part = await fetch(url, { headers: { Range: 'bytes=10-19' } });
      expect(part.status).toBe(206);
      expect(Buffer.from(await part.arrayBuffer()).equals(content.subarray(10, 20))).toBe(true);
      const whole = await fetch(url);
      expect(whole.status).toBe(200);
      expect(Buffer.from(await whole.arrayBuffer()).equals(content)).toBe(true);
    });
  });
}
