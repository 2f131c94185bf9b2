/**
 * A real S3-compatible server for tests: s3rver (the npm package) on 127.0.0.1, port 0, keeping
 * its objects in a temp dir of its own, with one bucket created. It runs in the test process and
 * speaks HTTP, so child processes reach it too (pass `env` to them).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import { storageFromEnv, type S3StorageConfig } from '../../src/config.js';

export interface TestS3 {
  /** The LAVENDLY_STORAGE_URL naming the bucket on this server. */
  url: string;
  /** LAVENDLY_STORAGE_URL and the credentials, for a child process's environment. */
  env: Record<string, string>;
  /** What `loadConfig` makes of `env`: pass as `config.storage` to an in-process server or worker. */
  storage: S3StorageConfig;
  endpoint: string;
  bucket: string;
  /** Where s3rver keeps the objects (`<directory>/<bucket>/...`). */
  directory: string;
  close(): Promise<void>;
}

/** s3rver's built-in account. It checks the access key id but not the SigV4 signature (3.7.1), so a wrong secret passes here. */
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

export async function startS3(options: { bucket?: string } = {}): Promise<TestS3> {
  const bucket = options.bucket ?? 'lavendly-test';
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = (await server.run()) as AddressInfo;
  const endpoint = `http://127.0.0.1:${address.port}`;
  const url = `s3://${bucket}?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1`;
  const env = {
    LAVENDLY_STORAGE_URL: url,
    ...CREDENTIALS,
    // The SDK warns once per process that future versions need Node 22; not news in a test's output.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const storage = storageFromEnv(env) as S3StorageConfig;
  return {
    url, env, storage, endpoint, bucket, directory,
    async close() {
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
