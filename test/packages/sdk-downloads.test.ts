/**
 * Downloading with @lavendly/sdk as a user installs it (the packed tarball, outside the
 * repository, plain node): `downloadFile` and `download` on a finished render of a live server
 * (its /files link), on an asset's presigned link to s3rver (which must not get the API key), and
 * on a host that cuts answers short, lies about their length, stalls or redirects
 * (../helpers/download-fixtures.ts).
 */
import fs from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDownloadFixtures, type DownloadFixtures } from '../helpers/download-fixtures.js';
import { installConsumer, packedPackages, runNode, type Installed } from '../helpers/packages.js';

const DOWNLOAD = `
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { download, downloadFile, Lavendly } from '@lavendly/sdk';
const { base, key, render, asset, fake, dir } = JSON.parse(process.argv[2]);
const sha = (b) => createHash('sha256').update(b).digest('hex');
const fail = (e) => ({ name: e.name, code: e.code, status: e.status, reason: e.details?.reason });
const at = (name) => path.join(dir, name);
const client = new Lavendly({ apiKey: key, baseUrl: base, backoff: { initialDelay: 1, maxDelay: 5 } });
const out = {};

// A finished render's link on the API's own store.
const got = await downloadFile(client, render.url, at('render.mp4'));
out.render = { sha: sha(fs.readFileSync(at('render.mp4'))), bytes: got.bytes, contentType: got.contentType, path: got.path };
out.exists = await downloadFile(client, render.url, at('render.mp4')).then(() => null, fail);
fs.writeFileSync(at('old.mp4'), 'old');
await downloadFile(client, render.url, at('old.mp4'), { overwrite: true });
out.overwritten = sha(fs.readFileSync(at('old.mp4')));
// Node 20 before 20.16 has no process.getBuiltinModule; the package's engines take it.
const ownBuiltin = process.getBuiltinModule;
delete process.getBuiltinModule;
await downloadFile(client, render.url, at('older-node.mp4'));
process.getBuiltinModule = ownBuiltin;
out.olderNode = sha(fs.readFileSync(at('older-node.mp4')));
// The stream form, for runtimes without a file system.
const d = await download(client, render.url);
out.stream = { size: d.size, sha: sha(Buffer.from(await new Response(d.body).arrayBuffer())) };
out.renderForged = await downloadFile(client, render.forged, at('forged.mp4')).then(() => null, fail);
out.renderExpired = await download(client, render.expired).then(() => null, fail);

// An asset's presigned link on s3rver (which refuses a request carrying two credentials).
await downloadFile(client, asset.url, at('asset.png'));
out.asset = sha(fs.readFileSync(at('asset.png')));
out.assetForged = await downloadFile(client, asset.forged, at('bad.png')).then(() => null, fail);
out.assetExpired = await downloadFile(client, asset.expired, at('old.png')).then(() => null, fail);

// A misbehaving host. The client's baseUrl is fake.api; fake.elsewhere is another origin.
const onFake = new Lavendly({ apiKey: 'sk_fake', baseUrl: fake.api + '/v1', backoff: { initialDelay: 1, maxDelay: 5 } });
// The caller's abort rejects with the caller's reason, as every call of the SDK does.
const stopIn = (ms) => { const c = new AbortController(); setTimeout(() => c.abort(Object.assign(new Error('stopped'), { name: 'Stopped' })), ms); return c.signal; };
const file = async (url, name, opts) => downloadFile(onFake, url, at(name), opts).then((r) => sha(fs.readFileSync(r.path)), fail);
out.fake = {
  away: await file(fake.api + '/away', 'away.bin'),
  resumed: await file(fake.api + '/cut-ranges', 'resumed.bin'),
  restarted: await file(fake.api + '/cut-norange', 'restarted.bin'),
  cutAlways: await file(fake.api + '/cut-always', 'cut.bin', { maxRetries: 2 }),
  longLength: await file(fake.api + '/long-length', 'long.bin', { maxRetries: 1 }),
  badRange: await file(fake.api + '/bad-range', 'badrange.bin'),
  fileScheme: await file(fake.api + '/to-file-scheme', 'scheme.bin'),
  // Compressed by the server although asked not to: started over, not resumed mid-gzip.
  gzipCut: await file(fake.api + '/gzcut', 'gzcut.bin'),
  stalled: await file(fake.api + '/stall', 'stall.bin', { timeout: 300, maxRetries: 0 }),
  aborted: await file(fake.api + '/stall', 'abort.bin', { signal: stopIn(300), timeout: 60_000 }),
};
// The stream form cannot take back what it gave: a cut without ranges fails it.
const cutStream = await download(onFake, fake.api + '/cut-norange-stream');
out.fake.streamCut = await new Response(cutStream.body).arrayBuffer().then(() => null, fail);
const gzipStream = await download(onFake, fake.api + '/gzcut-stream');
out.fake.gzipStreamCut = await new Response(gzipStream.body).arrayBuffer().then(() => null, fail);
// A caller slower than the timeout between reads is not a stalled server: the clock runs only
// while bytes are awaited (a host without ranges could not resume it either).
const patient = new Lavendly({ apiKey: 'sk_fake', baseUrl: fake.api + '/v1', timeout: 300, maxRetries: 0 });
const slow = await download(patient, fake.api + '/plain');
const slowReader = slow.body.getReader();
let slowBytes = (await slowReader.read()).value.byteLength;
await new Promise((r) => setTimeout(r, 900));
for (let c = await slowReader.read(); !c.done; c = await slowReader.read()) slowBytes += c.value.byteLength;
out.fake.slowReader = slowBytes === slow.size;
out.files = fs.readdirSync(dir).sort();
console.log(JSON.stringify(out));
process.exit(0);
`;

let fx: DownloadFixtures;
let consumer: Installed;

beforeAll(async () => {
  const { sdk: tarball } = await packedPackages();
  [fx, consumer] = await Promise.all([startDownloadFixtures(), installConsumer([tarball])]);
  await writeFile(path.join(consumer.dir, 'download.mjs'), DOWNLOAD);
}, 300_000);

afterAll(async () => {
  await fx?.close();
  await consumer?.remove();
});

describe('@lavendly/sdk downloads, installed from its tarball', () => {
  it('downloads renders, presigned S3 links and bad hosts safely', { timeout: 120_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(consumer.dir, 'out-'));
    const { server, key, render, asset, fake } = fx;
    const out = await runNode(consumer.dir, 'download.mjs', [JSON.stringify({ base: server.base, key, render, asset, fake, dir })]);
    expect(out.render).toEqual({ sha: render.sha, bytes: expect.any(Number), contentType: 'video/mp4', path: path.join(dir, 'render.mp4') });
    expect(out.exists).toMatchObject({ name: 'LavendlyError', code: 'file_exists' });
    expect(out.overwritten).toBe(render.sha);
    expect(out.olderNode).toBe(render.sha);
    expect(out.stream).toEqual({ size: out.render.bytes, sha: render.sha });
    // The API's envelope, as the SDK's typed error.
    expect(out.renderForged).toEqual({ name: 'PermissionError', code: 'forbidden', status: 403, reason: 'invalid_signature' });
    expect(out.renderExpired).toEqual({ name: 'PermissionError', code: 'forbidden', status: 403, reason: 'expired' });

    expect(out.asset).toBe(asset.sha);
    // s3rver's XML error, in the API's terms.
    expect(out.assetForged).toEqual({ name: 'PermissionError', code: 'forbidden', status: 403, reason: 'invalid_signature' });
    expect(out.assetExpired).toEqual({ name: 'PermissionError', code: 'forbidden', status: 403, reason: 'expired' });

    expect(out.fake).toEqual({
      away: fx.fakeSha,
      resumed: fx.fakeSha,
      restarted: fx.fakeSha,
      cutAlways: { name: 'ConnectionError', code: 'connection_error', status: 0 },
      longLength: { name: 'ConnectionError', code: 'connection_error', status: 0 },
      badRange: { name: 'InvalidResponseError', code: 'invalid_response', status: 206 },
      fileScheme: { name: 'LavendlyError', code: 'unsupported_scheme', status: 0 },
      stalled: { name: 'TimeoutError', code: 'timeout', status: 0 },
      aborted: { name: 'Stopped' },
      streamCut: { name: 'ConnectionError', code: 'cannot_resume', status: 0 },
      gzipStreamCut: { name: 'ConnectionError', code: 'cannot_resume', status: 0 },
      gzipCut: fx.fakeSha,
      slowReader: true,
    });
    // Only what completed is there: no target and no temporary file of any failed download.
    expect(out.files).toEqual(['asset.png', 'away.bin', 'gzcut.bin', 'old.mp4', 'older-node.mp4', 'render.mp4', 'restarted.bin', 'resumed.bin']);

    // The key went to the API's origin only; the resume asked for the rest, the restart for all.
    const seen = (p: string) => fake.seen.filter((s) => s.path === p);
    expect(seen('/away')).toEqual([{ host: 'api', path: '/away', authorization: 'Bearer sk_fake', range: null }]);
    expect(seen('/file')).toEqual([{ host: 'elsewhere', path: '/file', authorization: null, range: null }]);
    expect(seen('/cut-ranges').map((s) => s.range)).toEqual([null, `bytes=${Math.floor(fx.fakeBytes.length / 3)}-`]);
    expect(seen('/cut-norange').map((s) => s.range)).toEqual([null, null]);
    // A Range would count gzip bytes, the SDK counts decoded ones: the file was fetched again.
    expect(seen('/gzcut').map((s) => s.range)).toEqual([null, null]);
    expect(seen('/cut-always')).toHaveLength(3);
  });
});
