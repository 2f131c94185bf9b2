/**
 * Uploading a file with @lavendly/sdk as a user installs it (the packed tarball, outside the
 * repository, plain node): `assets.uploadFile` from `fs.openAsBlob` and from a ReadableStream,
 * against a live server; the stored asset's bytes are the file's.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../../src/media/binaries.js';
import { installConsumer, packedPackages, runNode, type Installed } from '../helpers/packages.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const UPLOAD = `
import fs from 'node:fs';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Lavendly } from '@lavendly/sdk';
const [baseUrl, apiKey, file] = process.argv.slice(2);
const client = new Lavendly({ apiKey, baseUrl, maxRetries: 0 });
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
const stored = async (asset) => sha(new Uint8Array(await (await fetch(asset.url)).arrayBuffer()));
const whole = fs.readFileSync(file);
const size = whole.length;

// A Blob read from disk as it is sent; the slot is sized from it.
const fromBlob = await client.assets.uploadFile(await fs.openAsBlob(file), { kind: 'video', filename: 'clip.mp4' });
// A stream of the file, its size given (declared to the slot, sent as Content-Length).
const fromStream = await client.assets.uploadFile(Readable.toWeb(fs.createReadStream(file)), { kind: 'video', filename: 'clip.mp4', bytes: size });

// Six chunks 400 ms apart outlast a 1.5 s timeout: each chunk sent restarts it.
const patient = new Lavendly({ apiKey, baseUrl, maxRetries: 0, timeout: 1500 });
const chunks = (n, gapMs, stallAfter = Infinity) => {
  let i = 0;
  const step = Math.ceil(size / n);
  return new ReadableStream({
    async pull(c) {
      if (i >= n) return c.close();
      await new Promise((r) => setTimeout(r, i >= stallAfter ? 60_000 : gapMs));
      c.enqueue(new Uint8Array(whole.subarray(i * step, (i + 1) * step)));
      i++;
    },
  });
};
const fromSlow = await patient.assets.uploadFile(chunks(6, 400), { kind: 'video', filename: 'slow.mp4', bytes: size });
// A stream that stops giving bytes fails after the timeout, not never.
const stalled = await patient.assets.uploadFile(chunks(6, 10, 2), { kind: 'video', filename: 'stalled.mp4', bytes: size })
  .then(() => null, (e) => ({ name: e.name, code: e.code, message: e.message }));

// A redirect is refused for a streamed body too (fetch sends it with redirect: 'error').
const moved = http.createServer((req, res) => { req.resume(); res.statusCode = 307; res.setHeader('location', 'http://127.0.0.1:9/'); res.end(); });
await new Promise((r) => moved.listen(0, '127.0.0.1', r));
const elsewhere = new Lavendly({ apiKey, baseUrl: 'http://127.0.0.1:' + moved.address().port + '/v1', maxRetries: 0 });
const redirected = await elsewhere.assets.upload({ id: 'upl_1', token: 't', body: await fs.openAsBlob(file) })
  .then(() => null, (e) => ({ name: e.name, code: e.code }));
moved.close();

console.log(JSON.stringify({
  file: sha(whole), size,
  blob: { sha: await stored(fromBlob), bytes: fromBlob.bytes, filename: fromBlob.filename, kind: fromBlob.kind },
  stream: { sha: await stored(fromStream), bytes: fromStream.bytes },
  slow: { sha: await stored(fromSlow), bytes: fromSlow.bytes },
  stalled, redirected,
}));
process.exit(0);
`;

let server: TestServer;
let consumer: Installed;
let key: string;
let video: string;

beforeAll(async () => {
  const { sdk: tarball } = await packedPackages();
  [server, consumer] = await Promise.all([startTestServer('sqlite', { publicLinks: true }), installConsumer([tarball])]);
  ({ key } = await server.account());
  await writeFile(path.join(consumer.dir, 'upload.mjs'), UPLOAD);
  // About 6 MB of real video (noise does not compress), so the server probes and keeps it.
  video = path.join(consumer.dir, 'clip.mp4');
  await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=25', '-t', '1', '-vf', 'noise=alls=60:allf=t+u', '-c:v', 'mpeg4', '-q:v', '2', video]);
}, 300_000);

afterAll(async () => {
  await server?.close();
  await consumer?.remove();
});

describe('@lavendly/sdk uploads, installed from its tarball', () => {
  it('uploads a file from fs.openAsBlob and from streams; the stored asset is the file', { timeout: 120_000 }, async () => {
    const out = await runNode(consumer.dir, 'upload.mjs', [server.base, key, video]);
    expect(out.size).toBeGreaterThan(3_000_000);
    expect(out.blob).toEqual({ sha: out.file, bytes: out.size, filename: 'clip.mp4', kind: 'video' });
    expect(out.stream).toEqual({ sha: out.file, bytes: out.size });
    expect(out.slow).toEqual({ sha: out.file, bytes: out.size });
    expect(out.stalled).toMatchObject({ name: 'TimeoutError', code: 'timeout' });
    expect(out.stalled.message).toMatch(/timed out after 1500 ms without progress/);
    expect(out.redirected).toEqual({ name: 'LavendlyError', code: 'http_redirect' });
  });
});
