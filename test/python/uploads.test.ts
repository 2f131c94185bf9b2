/**
 * The installed Python SDK uploading a real video of a few MB to a live server (pytest
 * test_uploads.py in a venv built from the wheel, ./venv.ts).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../../src/media/binaries.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { buildPythonSdk, type PythonSdk } from './venv.js';

const HERE = path.resolve('test/python');
let sdk: PythonSdk;
let server: TestServer;
let video: string;

beforeAll(async () => {
  sdk = buildPythonSdk();
  server = await startTestServer('sqlite', { publicLinks: true });
  // About 6 MB of real video (noise does not compress), so the server probes and keeps it.
  video = path.join(sdk.dir, 'clip.mp4');
  await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=25', '-t', '1', '-vf', 'noise=alls=60:allf=t+u', '-c:v', 'mpeg4', '-q:v', '2', video]);
}, 180_000);
afterAll(async () => {
  await server?.close();
  sdk?.remove();
});

describe('the installed Python SDK uploading files', () => {
  it('streams a path or an open file, blocking and async; the stored asset is the file (pytest test_uploads.py)', { timeout: 180_000 }, async () => {
    const { key } = await server.account();
    const r = await sdk.runAsync(['-m', 'pytest', '-q', '-p', 'no:cacheprovider', path.join(HERE, 'test_uploads.py')], {
      env: { LAVENDLY_BASE_URL: server.base, LAVENDLY_API_KEY: key, LAVENDLY_VIDEO: video }, cwd: sdk.dir, timeoutMs: 170_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/6 passed/);
  });
});
