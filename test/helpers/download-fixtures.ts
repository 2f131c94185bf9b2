/**
 * What the SDKs' download tests download: a finished render of a live server (its /files link,
 * plus a forged and an expired one), an asset's presigned link to s3rver from a second server on
 * the S3 driver (plus a forged and an expired one), and the misbehaving host of ./fake-files.ts.
 * The sha256 of each file is what a download must reproduce.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { expect } from 'vitest';
import { startJobWorker } from '../../src/cli/commands/worker.js';
import { createLogger } from '../../src/http/logging.js';
import { LocalImageProvider } from '../../src/media/index.js';
import { createWorkflow, smallClips, startRender, upload, waitForRender } from '../renders/helpers.js';
import { withWorkerEnv } from './config.js';
import { startFakeFiles, type FakeFiles } from './fake-files.js';
import { startS3 } from './s3.js';
import { startTestServer, type TestServer } from './server.js';

export interface Link { url: string; sha: string; forged: string; expired: string }

export interface DownloadFixtures {
  /** The server with the render: the SDK's baseUrl, and the key for it. */
  server: TestServer;
  key: string;
  render: Link;
  asset: Link;
  fake: FakeFiles;
  fakeSha: string;
  fakeBytes: Buffer;
  close(): Promise<void>;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const HOURS_AGO = () => new Date(Date.now() - 3 * 3600_000);

export async function startDownloadFixtures(): Promise<DownloadFixtures> {
  const s3 = await startS3();
  const [server, s3Server] = await Promise.all([
    startTestServer('sqlite', { publicLinks: true, services: { generation: smallClips() } }),
    startTestServer('sqlite', { publicLinks: true, config: { storage: s3.storage } }),
  ]);
  const worker = await startJobWorker({
    config: withWorkerEnv(server.config, { ...process.env, LAVENDLY_WORKER_POLL_MS: '20' }), logger: createLogger({ level: 'silent' }),
    db: server.fresh.db, composed: server,
  });
  const { key } = await server.account({ credits: 100 });
  const wf = await createWorkflow(server, key, [2]);
  const started = await startRender(server, key, wf.id);
  expect(started.status, started.text).toBe(202);
  const done = await waitForRender(server, key, wf.id, started.json.id, 120_000);
  expect(done.status, JSON.stringify(done)).toBe('succeeded');
  await worker.stop({ abortAfterMs: 1000 });
  const renderKey = new URL(done.url).pathname.slice('/files/'.length).split('/').map(decodeURIComponent).join('/');
  const store = server.services.storage;

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-download-'));
  const png = path.join(tmp, 'lantern.png');
  await new LocalImageProvider().generateImage({ prompt: 'A paper lantern', width: 200, height: 150, outPath: png });
  const stored = await upload(s3Server, (await s3Server.account()).key, png, 'image');
  fs.rmSync(tmp, { recursive: true, force: true });
  const assetKey = new URL(stored.url).pathname.slice(s3.bucket.length + 2).split('/').map(decodeURIComponent).join('/');

  const fakeBytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
  const fake = await startFakeFiles(fakeBytes);
  return {
    server, key, fake, fakeBytes, fakeSha: sha(fakeBytes),
    render: {
      url: done.url,
      sha: sha(await buffer(await store.read(renderKey))),
      forged: done.url.replace(/sig=[^&]+/, `sig=${'A'.repeat(43)}`),
      expired: store.signedUrl(renderKey, { now: HOURS_AGO(), expiresInS: 60 }),
    },
    asset: {
      url: stored.url,
      sha: sha(await buffer(await s3Server.services.storage.read(assetKey))),
      // s3rver checks the credential, not a V4 signature: a link forged with another key id.
      forged: stored.url.replace(/X-Amz-Credential=[A-Z0-9]+/, 'X-Amz-Credential=FORGED'),
      expired: s3Server.services.storage.signedUrl(assetKey, { now: HOURS_AGO(), expiresInS: 60 }),
    },
    async close() {
      await fake.close();
      await server.close();
      await s3Server.close();
      await s3.close();
    },
  };
}
