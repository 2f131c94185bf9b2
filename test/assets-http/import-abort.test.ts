/**
 * An import whose caller hangs up stops downloading: the source's connection is closed, the
 * account's transfer slot is free for the next import, and nothing stays in staging.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetsConfigFromEnv, TransferBudget } from '../../src/assets/index.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { startServer as startMediaServer, type TestServer as MediaServer } from '../net/servers.js';
import { until } from '../publish-http/fixtures.js';

const MP4_HEAD = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom\0\0\x02\0isomiso2', 'latin1')]);

describe.each(testDatabases())('import whose caller hangs up (%s)', (kind) => {
  let s: TestServer;
  let media: MediaServer;
  /** Source responses still open (a drip that has not been closed by the server's side). */
  const open = new Set<http.ServerResponse>();

  beforeAll(async () => {
    // /drip sends a video's first bytes and then nothing: only the importer can end it.
    let drips = 0;
    media = await startMediaServer((req, res) => {
      // Only the first request drips; a retry of the import finds the file gone (404).
      if (req.url !== '/drip.mp4' || drips++ > 0) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(50 * 1024 * 1024) });
      res.write(MP4_HEAD);
      open.add(res);
      res.on('close', () => open.delete(res));
    });
    const assetsConfig = assetsConfigFromEnv({ LAVENDLY_IMPORT_ALLOW_ENDPOINTS: `127.0.0.1:${media.port}` });
    // One transfer at a time: a download left running would answer the next import 429.
    s = await startTestServer(kind, { services: { assetsConfig, assetTransfers: new TransferBudget(1) } });
  });
  afterAll(async () => {
    await media?.close();
    await s?.close();
  });

  it('stops the download, frees the transfer slot and cleans staging', async () => {
    const a = await s.account();
    const body = JSON.stringify({ url: `${media.origin}/drip.mp4`, kind: 'video' });
    const idempotencyKey = `hang-up-${kind}`;
    const req = http.request(`${s.base}/storage/ingest`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${a.key}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)),
        'idempotency-key': idempotencyKey,
      },
    });
    req.on('error', () => {}); // we hang up ourselves
    req.end(body);
    await until('the source to be downloading', async () => open.size === 1, 10_000);
    req.destroy();

    // Well inside the import's own idle timeout (30 s): only the hang-up can end it this soon.
    await until('the source connection to be closed', async () => open.size === 0, 10_000);
    // The slot is given back just after the source closes: ask until it is (429 meanwhile).
    const next = await until('the transfer slot to be free', async () => {
      const r = await call(`${s.base}/storage/ingest`, { key: a.key, body: { url: `${media.origin}/missing.mp4`, kind: 'video' } });
      return r.status === 429 ? null : r;
    }, 10_000);
    expect(next.status, next.text).toBe(400);
    expect(next.json.error.code).toBe('source_unreachable');
    const staging = path.join(s.services.storage.root, '.staging');
    await until('staging to be empty', async () => (fs.existsSync(staging) ? fs.readdirSync(staging) : []).length === 0, 10_000);
    // The caller's retry with the same Idempotency-Key runs the import again: no failure caused
    // by its hanging up was stored to be replayed (it reaches the source, which now answers 404).
    const retry = await call(`${s.base}/storage/ingest`, {
      key: a.key, headers: { 'idempotency-key': idempotencyKey }, body: { url: `${media.origin}/drip.mp4`, kind: 'video' },
    });
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.json.error).toMatchObject({ code: 'source_unreachable', upstream_status: 404 });
    // A caller hanging up is not our failure: nothing is logged as an error.
    expect(s.logs.filter((l) => Number(l.level) >= 50).map((l) => JSON.stringify(l))).toEqual([]);
  }, 30_000);
});
