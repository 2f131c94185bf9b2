/**
 * An app that throws `ApiError` with a code it never registered gets a 500 (the code has no
 * status); the server must say why in its log, or the author sees a 500 they meant as a 4xx with
 * nothing to go on.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { ApiError, createApp, defineErrorCodes } from '../../packages/framework/src/index.js';

const logged: string[] = [];
defineErrorCodes({ out_of_stock_registered: 409 });
const app = createApp({
  basePath: '/api',
  logInternal: (err) => logged.push(String(err)),
  mount: (router) => {
    router.get('/unregistered', () => { throw new ApiError('unknown_author', 'no author 7'); });
    router.get('/registered', () => { throw new ApiError('out_of_stock_registered', 'none left'); });
  },
});
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
afterAll(() => new Promise((resolve) => server.close(resolve)));

it('an unregistered code answers 500 in the envelope and logs how to register it', async () => {
  const res = await fetch(`${base}/unregistered`);
  expect(res.status).toBe(500);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unknown_author');
  expect(logged).toEqual([expect.stringContaining('error code "unknown_author" has no status, so it answered 500: register it with defineErrorCodes({ unknown_author: 409 })')]);
});

it('a registered code answers its status and logs nothing', async () => {
  logged.length = 0;
  const res = await fetch(`${base}/registered`);
  expect(res.status).toBe(409);
  expect(logged).toEqual([]);
});
