/**
 * The installed Python SDK downloading (pytest test_downloads.py in a venv built from the wheel,
 * ./venv.ts): a finished render of a live server, a presigned link to s3rver, and a host that
 * misbehaves (../helpers/download-fixtures.ts); then what that host was sent.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDownloadFixtures, type DownloadFixtures } from '../helpers/download-fixtures.js';
import { buildPythonSdk, type PythonSdk } from './venv.js';

const HERE = path.resolve('test/python');
let sdk: PythonSdk;
let fx: DownloadFixtures;

beforeAll(async () => {
  sdk = buildPythonSdk();
  fx = await startDownloadFixtures();
}, 300_000);
afterAll(async () => {
  await fx?.close();
  sdk?.remove();
});

describe('the installed Python SDK downloading files', () => {
  it('downloads renders, presigned links and bad hosts safely, blocking and async (pytest test_downloads.py)', { timeout: 180_000 }, async () => {
    const links = { render: fx.render, asset: fx.asset, fake: { api: fx.fake.api, sha: fx.fakeSha } };
    const r = await sdk.runAsync(['-m', 'pytest', '-q', '-p', 'no:cacheprovider', path.join(HERE, 'test_downloads.py')], {
      env: { LAVENDLY_BASE_URL: fx.server.base, LAVENDLY_API_KEY: fx.key, LAVENDLY_LINKS: JSON.stringify(links) }, cwd: sdk.dir, timeoutMs: 170_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/20 passed/);
    // The key went to the client's own origin, not to the host the redirect named; a resume asked
    // for the rest of the file with Range, a restart (no Accept-Ranges) for all of it.
    const seen = (p: string) => fx.fake.seen.filter((s) => s.path === p);
    // The second: an http_client with its own auth and headers (basic auth wins on the API's origin).
    expect(seen('/away').map((s) => [s.host, s.authorization])).toEqual([['api', 'Bearer sk_fake'], ['api', `Basic ${btoa('user:secret')}`]]);
    expect(seen('/file')).toEqual([1, 2].map(() => ({ host: 'elsewhere', path: '/file', authorization: null, range: null })));
    const third = `bytes=${Math.floor(fx.fakeBytes.length / 3)}-`;
    expect(seen('/cut-ranges').map((s) => s.range)).toEqual([null, third, null, third]);
    expect(seen('/cut-norange').map((s) => s.range)).toEqual([null, null]);
  });
});
