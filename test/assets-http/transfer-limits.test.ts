/**
 * Uploads under the account's storage quota while they stream: parallel uploads together never
 * stage more than the quota leaves, too many at once answer 429, and a file of the wrong type is
 * refused from its first bytes instead of after the whole body.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetsConfigFromEnv, setQuota, TransferBudget } from '../../src/assets/index.js';
import { startServer as startMediaServer } from '../net/servers.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { local } from '../renders/helpers.js';

const MB = 1024 * 1024;
const MP4_HEAD = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom\0\0\x02\0isomiso2', 'latin1')]);
const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

interface SlowPut { status: number | null; json: any; sentWhenAnswered: number; sent: number }

/**
 * PUTs `total` bytes (starting with `head`) in 256 KB chunks every `delayMs`, stopping once
 * answered. `firstAfterMs`: the headers go at once, the body only then (an answer refusing the
 * upload before any byte is read then cannot be lost to a reset of the closing connection).
 */
function slowPut(url: string, total: number, head: Buffer, delayMs = 20, firstAfterMs = 0): Promise<SlowPut> {
  return new Promise((resolve) => {
    const out: SlowPut = { status: null, json: null, sentWhenAnswered: -1, sent: 0 };
    let finished = false;
    const finish = () => { if (!finished) { finished = true; resolve(out); } };
    const req = http.request(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(total) } }, (res) => {
      out.status = res.statusCode!;
      out.sentWhenAnswered = out.sent;
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => { out.json = JSON.parse(Buffer.concat(chunks).toString('utf8')); finish(); });
    });
    req.on('error', finish); // the server closes a refused upload's connection
    const pump = () => {
      if (out.status !== null || req.destroyed) return;
      if (out.sent >= total) { req.end(); return; }
      const size = Math.min(256 * 1024, total - out.sent);
      const chunk = Buffer.alloc(size);
      if (out.sent === 0) head.copy(chunk);
      out.sent += size;
      req.write(chunk);
      setTimeout(pump, delayMs);
    };
    req.flushHeaders();
    setTimeout(pump, firstAfterMs);
  });
}

function stagedBytes(dir: string): number {
  let sum = 0;
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    try { sum += fs.statSync(path.join(dir, name)).size; } catch { /* removed meanwhile */ }
  }
  return sum;
}

describe.each(testDatabases())('upload limits while streaming on %s', (kind) => {
  let s: TestServer;
  let a: { id: string; key: string };

  beforeAll(async () => {
    s = await startTestServer(kind);
    a = await s.account({ name: 'A' });
  });
  afterAll(async () => { await s?.close(); });

  async function slot(assetKind = 'video'): Promise<string> {
    const r = await call(`${s.base}/uploads`, { key: a.key, body: { kind: assetKind, filename: 'x.mp4' } });
    expect(r.status, r.text).toBe(201);
    return local(s, r.json.upload_url);
  }

  it('six parallel 9 MB uploads against a 10 MB quota never stage more than 10 MB; the refused ones are told while sending', async () => {
    s.services.assetTransfers = new TransferBudget(6);
    await setQuota(s.fresh.db, a.id, 10 * MB);
    const urls = await Promise.all(Array.from({ length: 6 }, () => slot()));
    const staging = path.join(s.services.storage.root, '.staging');
    let peak = 0;
    const meter = setInterval(() => { peak = Math.max(peak, stagedBytes(staging)); }, 5);
    const results = await Promise.all(urls.map((u) => slowPut(u, 9 * MB, MP4_HEAD)));
    clearInterval(meter);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(10 * MB);
    // A refused upload is answered 413 while the client still sends; the server drains the rest
    // for a while (a lingering close), so every client reads its answer instead of a reset.
    const refused = results.filter((r) => r.status === 413);
    const seen = JSON.stringify(results.map((r) => [r.status, r.sentWhenAnswered, r.sent]));
    expect(refused.length, seen).toBeGreaterThanOrEqual(5);
    expect(results.filter((r) => r.status === null), seen).toEqual([]);
    for (const r of refused) {
      expect(r.json.error.code).toBe('storage_quota_exceeded');
      expect(r.sentWhenAnswered).toBeLessThan(9 * MB);
    }
    expect(stagedBytes(staging)).toBe(0);
  });

  it('more transfers at once than allowed answer 429 and leave the slot open for a retry', async () => {
    s.services.assetTransfers = new TransferBudget(2);
    await setQuota(s.fresh.db, a.id, 100 * MB);
    const [u1, u2, u3] = await Promise.all([slot(), slot(), slot()]);
    const running = [slowPut(u1!, 2 * MB, MP4_HEAD, 50), slowPut(u2!, 2 * MB, MP4_HEAD, 50)];
    await new Promise((r) => setTimeout(r, 100));
    const third = await slowPut(u3!, 1 * MB, MP4_HEAD, 5, 300);
    expect(third.status).toBe(429);
    expect(third.json.error.code).toBe('rate_limited');
    await Promise.all(running);
    const retry = await slowPut(u3!, 1 * MB, MP4_HEAD, 5);
    expect(retry.status).not.toBe(429);
    expect(retry.json.error?.code).not.toBe('upload_completed');
  });

  it('three parallel 9 MB imports against a 10 MB quota never stage more than 10 MB', async () => {
    // A remote server sending MP4-looking bytes slowly, without a Content-Length.
    const media = await startMediaServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      let sent = 0;
      const pump = () => {
        if (res.destroyed) return;
        if (sent >= 9 * MB) { res.end(); return; }
        const chunk = Buffer.alloc(256 * 1024);
        if (sent === 0) MP4_HEAD.copy(chunk);
        sent += chunk.length;
        res.write(chunk);
        setTimeout(pump, 20);
      };
      pump();
    });
    const saved = s.services.assetsConfig;
    s.services.assetsConfig = assetsConfigFromEnv({ LAVENDLY_IMPORT_ALLOW_ENDPOINTS: `127.0.0.1:${media.port}` });
    try {
      s.services.assetTransfers = new TransferBudget(6);
      await setQuota(s.fresh.db, a.id, 10 * MB);
      const staging = path.join(s.services.storage.root, '.staging');
      let peak = 0;
      const meter = setInterval(() => { peak = Math.max(peak, stagedBytes(staging)); }, 5);
      const results = await Promise.all([1, 2, 3].map((i) =>
        call(`${s.base}/storage/ingest`, { key: a.key, body: { url: `${media.origin}/clip${i}.mp4`, kind: 'video' } })));
      clearInterval(meter);
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(10 * MB);
      const refused = results.filter((r) => r.status === 413);
      expect(refused.length, results.map((r) => r.text).join('\n')).toBeGreaterThanOrEqual(2);
      for (const r of refused) expect(r.json.error.code).toBe('storage_quota_exceeded');
      expect(stagedBytes(staging)).toBe(0);
    } finally {
      s.services.assetsConfig = saved;
      await media.close();
    }
  });

  it('a file of the wrong type is refused from its first bytes', async () => {
    s.services.assetTransfers = new TransferBudget(4);
    const r = await slowPut(await slot(), 5 * MB, PNG_HEAD, 50);
    expect(r.status).toBe(415);
    expect(r.json.error.code).toBe('unsupported_media_type');
    expect(r.sentWhenAnswered).toBeLessThan(2 * MB);
  });
});
