/**
 * An upload or an import while the disk holding the staging folder (and the local store) is full: 503
 * `unavailable` with Retry-After naming no path, no staged file left behind, no asset recorded,
 * and the same upload URL works once space is freed (our full disk does not spend the client's
 * slot). Before, the ENOSPC answered 500 and marked the slot failed. The media files live on a
 * small real tmpfs of their own, so the database (on another disk) keeps working. Needs root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetsConfigFromEnv } from '../../src/assets/index.js';
import { LocalImageProvider } from '../../src/media/index.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { canMountTmpfs, mountTmpfs, TMPFS_SKIP_REASON, type Tmpfs } from '../helpers/tmpfs.js';
import { startServer } from '../net/servers.js';
import { local } from '../renders/helpers.js';

describe.skipIf(!canMountTmpfs).each(testDatabases())(`an upload on a full disk (%s, ${canMountTmpfs ? 'tmpfs' : TMPFS_SKIP_REASON})`, (kind) => {
  let s: TestServer;
  let a: { id: string; key: string };
  let disk: Tmpfs;
  let png: Buffer;

  beforeAll(async () => {
    s = await startTestServer(kind);
    a = await s.account();
    disk = mountTmpfs(2);
    const file = path.join(disk.dir, 'lantern.png');
    await new LocalImageProvider().generateImage({ prompt: 'A paper lantern', width: 160, height: 120, outPath: file });
    png = fs.readFileSync(file);
    fs.rmSync(file);
    // The media folder (staging included) on the small disk; the database elsewhere.
    fs.rmSync(path.join(s.fresh.dataDir, 'files'), { recursive: true, force: true });
    fs.symlinkSync(disk.dir, path.join(s.fresh.dataDir, 'files'));
  }, 60_000);

  afterAll(async () => {
    await s?.close();
    disk?.unmount();
  });

  it('answers 503 with Retry-After, leaves nothing staged, and the same URL works once space is freed', async () => {
    const slot = await call(`${s.base}/uploads`, { key: a.key, body: { kind: 'image', filename: 'lantern.png', bytes: png.length } });
    expect(slot.status, slot.text).toBe(201);
    const put = () => call(local(s, slot.json.upload_url), { method: 'PUT', rawBody: png, headers: { 'content-type': 'application/octet-stream' } });
    disk.fill(0);
    const failed = await put();
    expect(failed.status, failed.text).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('30');
    expect(failed.json.error.code).toBe('unavailable');
    expect(failed.text).not.toContain(disk.dir);
    expect(fs.readdirSync(path.join(disk.dir, '.staging'))).toEqual([]);
    expect(Number((await s.fresh.db('assets').where({ account_id: a.id }).count<{ n: number }[]>({ n: '*' }).first())!.n)).toBe(0);

    disk.free();
    const stored = await put();
    expect(stored.status, stored.text).toBe(201);
    expect(fs.readdirSync(path.join(disk.dir, '.staging'))).toEqual([]);
    expect(Number((await s.fresh.db('assets').where({ account_id: a.id }).count<{ n: number }[]>({ n: '*' }).first())!.n)).toBe(1);
  });

  it('an import answers 503 with Retry-After, stages nothing and records nothing, and works once space is freed', async () => {
    const origin = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(png.length) });
      res.end(png);
    });
    try {
      s.services.assetsConfig = assetsConfigFromEnv({ LAVENDLY_IMPORT_ALLOW_ENDPOINTS: `127.0.0.1:${origin.port}` });
      const ingest = () => call(`${s.base}/storage/ingest`, { key: a.key, body: { url: `${origin.origin}/lantern.png`, kind: 'image' } });
      const before = Number((await s.fresh.db('assets').where({ account_id: a.id }).count<{ n: number }[]>({ n: '*' }).first())!.n);
      disk.fill(0);
      const failed = await ingest();
      expect(failed.status, failed.text).toBe(503);
      expect(failed.headers.get('retry-after')).toBe('30');
      expect(fs.readdirSync(path.join(disk.dir, '.staging'))).toEqual([]);
      expect(Number((await s.fresh.db('assets').where({ account_id: a.id }).count<{ n: number }[]>({ n: '*' }).first())!.n)).toBe(before);
      disk.free();
      const stored = await ingest();
      expect(stored.status, stored.text).toBe(201);
    } finally {
      disk.free();
      await origin.close();
    }
  });
});
