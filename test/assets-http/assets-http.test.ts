import fs from 'node:fs';
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assetsConfigFromEnv } from '../../src/assets/index.js';
import { makeTempDir, musicFile } from '../media/helpers.js';
import { testDatabases } from '../helpers/db.js';
import { leaveClaimOfDeadServer } from '../helpers/dead-claim.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { startServer, type TestServer as MediaServer } from '../net/servers.js';
import { createWorkflow, invariants, local, smallClips, upload } from '../renders/helpers.js';

/** A PUT over plain node:http, to see every response header (Connection included). */
function rawPut(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, json: text ? JSON.parse(text) : null });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(testDatabases())('assets over HTTP on %s', (kind) => {
  let s: TestServer;
  let media: MediaServer;
  let blocked: MediaServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let song: Buffer;
  let a: { id: string; key: string };
  let b: { id: string; key: string };

  beforeAll(async () => {
    tmp = await makeTempDir('assets-http');
    song = fs.readFileSync(await musicFile(tmp.file('song.m4a'), 2));
    const serve = (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(200, { 'content-type': 'audio/mp4', 'content-length': String(song.length) });
      res.end(song);
    };
    media = await startServer(serve);
    blocked = await startServer(serve);
    // Imports may reach the media server (and only it) although it is on loopback: explicit
    // configuration, exactly as LAVENDLY_IMPORT_ALLOW_ENDPOINTS gives it.
    const assetsConfig = assetsConfigFromEnv({ LAVENDLY_IMPORT_ALLOW_ENDPOINTS: `127.0.0.1:${media.port}` });
    s = await startTestServer(kind, { services: { generation: smallClips(), assetsConfig } });
    a = await s.account({ name: 'A' });
    b = await s.account({ name: 'B' });
  });
  afterEach(async () => invariants(s));
  afterAll(async () => {
    await s?.close();
    await media?.close();
    await blocked?.close();
    await tmp?.cleanup();
  });

  it('imports a file by URL: 201 with Location, the hosted copy is fetchable, get_asset finds it', async () => {
    const r = await call(`${s.base}/storage/ingest`, { key: a.key, body: { url: `${media.origin}/music/song.m4a`, kind: 'music' }, headers: { 'Idempotency-Key': `imp-${kind}` } });
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get('location')).toBe(`/assets/${r.json.id}`);
    expect(r.json).toMatchObject({ kind: 'music', bytes: song.length, source_url: `${media.origin}/music/song.m4a`, width: null, height: null });
    expect(r.json.duration_s).toBeGreaterThan(1.9);
    expect(Object.keys(r.json).sort()).toEqual(
      ['bytes', 'content_type', 'created_at', 'duration_s', 'filename', 'height', 'id', 'kind', 'source_url', 'url', 'url_expires_at', 'width'],
    );
    const file = await fetch(local(s, r.json.url));
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(song)).toBe(true);

    const again = await call(`${s.base}/storage/ingest`, { key: a.key, body: { url: `${media.origin}/music/song.m4a`, kind: 'music' }, headers: { 'Idempotency-Key': `imp-${kind}` } });
    expect(again.text).toBe(r.text);

    const got = await call(`${s.base}/assets/${r.json.id}`, { key: a.key });
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ id: r.json.id, bytes: song.length, kind: 'music' });
    expect((await call(`${s.base}/assets/${r.json.id}`, { key: b.key })).status).toBe(404);
  });

  it('an import retried after its server died before answering makes no second asset (as in test/http/keyed-retry-after-crash.test.ts)', async () => {
    const owner = await s.account({ name: 'Crash' });
    const send = () => call(`${s.base}/storage/ingest`, { key: owner.key, body: { url: `${media.origin}/music/song.m4a`, kind: 'music' }, headers: { 'Idempotency-Key': 'imp-once' } });
    const first = await send();
    expect(first.status, first.text).toBe(201);
    // What a server killed between the asset's commit and the stored answer leaves behind.
    expect(await leaveClaimOfDeadServer(s.fresh.db, 'imp-once')).toBe(1);
    const retry = await send();
    expect(retry.status, retry.text).toBe(201);
    expect(retry.json.id).toBe(first.json.id);
    expect(await s.fresh.db('assets').where({ account_id: owner.id }).pluck('id')).toEqual([first.json.id]);
  });

  it('refuses a loopback address the configuration does not allow, and content of the wrong kind', async () => {
    const r = await call(`${s.base}/storage/ingest`, { key: a.key, body: { url: `${blocked.origin}/song.m4a`, kind: 'music' } });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('url_not_allowed');
    const wrong = await call(`${s.base}/storage/ingest`, { key: a.key, body: { url: `${media.origin}/song.m4a`, kind: 'image' } });
    expect(wrong.status).toBe(415);
  });

  it('uploads through a one-time slot without an API key, and the asset plays as a track', async () => {
    const slot = await call(`${s.base}/uploads`, { key: a.key, body: { kind: 'music', filename: 'song.m4a', bytes: song.length } });
    expect(slot.status, slot.text).toBe(201);
    expect(slot.json).toMatchObject({ kind: 'music', filename: 'song.m4a', max_bytes: song.length });
    const url = local(s, slot.json.upload_url);
    const put = await rawPut(url, song);
    expect(put.status).toBe(201);
    expect(put.headers.location).toBe(`/assets/${put.json.id}`);
    expect(put.json).toMatchObject({ kind: 'music', filename: 'song.m4a', source_url: null, bytes: song.length });

    const reused = await rawPut(url, song);
    expect(reused.status).toBe(409);
    expect(reused.json.error.code).toBe('upload_completed');

    const wf = await createWorkflow(s, a.key, [1]);
    const track = await call(`${s.base}/workflows/${wf.id}/clips/${wf.scenes[0]!.node_id}/tracks`, { key: a.key, body: { asset_id: put.json.id, kind: 'music', volume_db: -12 } });
    expect(track.status, track.text).toBe(201);
    // The uploaded asset is A's alone.
    expect((await call(`${s.base}/assets/${put.json.id}`, { key: b.key })).status).toBe(404);
  });

  it('refuses tampered and missing tokens, oversized declarations and the wrong body type', async () => {
    const slot = (await call(`${s.base}/uploads`, { key: a.key, body: { kind: 'music', filename: 'x.m4a' } })).json;
    const url = new URL(local(s, slot.upload_url));
    const token = url.searchParams.get('token')!;
    url.searchParams.set('token', `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`);
    const tampered = await rawPut(url.toString(), song);
    expect(tampered.status).toBe(403);
    expect(tampered.json.error.code).toBe('upload_token_invalid');
    url.searchParams.delete('token');
    expect((await rawPut(url.toString(), song)).status).toBe(400);
    url.searchParams.set('token', token);
    const wrongType = await call(url.toString(), { method: 'PUT', rawBody: song, headers: { 'content-type': 'application/json' } });
    expect(wrongType.status).toBe(415);
    // The slot is still usable after those refusals.
    expect((await rawPut(url.toString(), song)).status).toBe(201);

    const huge = await call(`${s.base}/uploads`, { key: a.key, body: { kind: 'music', filename: 'big.wav', bytes: 51 * 1024 * 1024 } });
    expect(huge.status).toBe(413);
    expect(huge.json.error.code).toBe('asset_too_large');
    // The upload helper used by other suites works end to end too.
    const asset = await upload(s, a.key, tmp.file('song.m4a'), 'music');
    expect(asset.kind).toBe('music');
  });
});
