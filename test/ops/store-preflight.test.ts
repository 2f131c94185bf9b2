/**
 * A misconfigured media store used to look like an outage: `serve` and `worker` started, uploads
 * answered 503 and jobs waited up to 30 min, and only the log said why. Now they check the store
 * at start (the real CLI against s3rver): an access key the store does not know, or a bucket it
 * does not have, refuses the start with one line naming the setting; a store that does not answer
 * gets one warning and the start goes on (an outage passes).
 *
 * s3rver 3.7 does not verify SigV4 signatures (any secret passes), so a wrong secret cannot be
 * shown with it; a wrong access key is refused with the same 403 a store that checks the secret
 * sends for it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { spawnCli, startServeProcess } from '../publish-http/processes.js';
import { freePort } from '../helpers/server.js';

let s3: TestS3;
let dataDir: string;

beforeAll(async () => {
  s3 = await startS3();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-store-preflight-'));
}, 60_000);
afterAll(async () => {
  await s3?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const env = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, ...s3.env, LAVENDLY_DATA_DIR: dataDir, DATABASE_URL: '', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...extra };
  delete e.LAVENDLY_API_KEY;
  return e;
};

describe('serve and worker check the media store at start', () => {
  it('refuse an access key the store does not know, naming AWS_ACCESS_KEY_ID', async () => {
    for (const command of ['serve', 'worker']) {
      const r = await runCli([command], env({ AWS_ACCESS_KEY_ID: 'NOT-A-KEY', AWS_SECRET_ACCESS_KEY: 'not-the-secret' }));
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.lines).toEqual([`lavendly: error: the media store at ${s3.endpoint} does not know the access key (InvalidAccessKeyId, HTTP 403): set AWS_ACCESS_KEY_ID to a key of that store`]);
      expect(r.stdout + r.stderr).not.toContain('not-the-secret');
    }
  }, 60_000);

  it('refuse a bucket the store does not have, naming LAVENDLY_STORAGE_URL', async () => {
    const url = s3.url.replace(`s3://${s3.bucket}?`, 's3://no-such-bucket?');
    for (const command of ['serve', 'worker']) {
      const r = await runCli([command], env({ LAVENDLY_STORAGE_URL: url }));
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.lines).toEqual([`lavendly: error: the media store at ${s3.endpoint} has no bucket 'no-such-bucket' (NoSuchBucket, HTTP 404): create it, or name an existing bucket in LAVENDLY_STORAGE_URL`]);
    }
  }, 60_000);

  it('start with one warning when the store cannot be reached', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const url = s3.url.replace(encodeURIComponent(s3.endpoint), encodeURIComponent(endpoint));
    const warning = `the media store at ${endpoint} did not answer the start-up check; starting anyway, uploads and jobs wait for it`;
    const serve = await startServeProcess(env({ LAVENDLY_STORAGE_URL: url, LAVENDLY_SERVE_WORKER: '0' }));
    const worker = spawnCli(['worker'], env({ LAVENDLY_STORAGE_URL: url }));
    try {
      await worker.waitFor(/Lavendly worker \S+ running/);
      for (const proc of [serve, worker]) {
        const warnings = proc.logLines().map((l) => JSON.parse(l)).filter((l) => l.msg === warning);
        expect(warnings, proc.output()).toHaveLength(1);
        expect(JSON.stringify(warnings[0].err)).toContain('ECONNREFUSED');
      }
    } finally {
      await Promise.all([serve.stop(), worker.stop()]);
    }
  }, 60_000);
});
