/**
 * The access line of a request whose stream was destroyed before the answer (a body reader that
 * stopped early): Node has dropped `req.socket` by then, and Koa's `ctx.ip` throws on it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import Koa from 'koa';
import pino from 'pino';
import { expect, it } from 'vitest';
import { accessLog } from '../../src/http/logging.js';

it('is written, without the address, when the request stream is gone', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  const app = new Koa();
  const errors: unknown[] = [];
  app.on('error', (err) => errors.push(err));
  app.use(accessLog(pino(sink)));
  app.use(async (ctx) => {
    for await (const _ of ctx.req) break; // stops reading: the stream is destroyed
    await new Promise((r) => setTimeout(r, 20));
    ctx.body = 'done';
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    await new Promise<void>((resolve) => {
      const req = http.request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST' });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write(Buffer.alloc(100_000));
      setTimeout(() => req.end(), 50);
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(errors).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request', method: 'POST', path: '/' });
    expect(lines[0]!.ip).toBeUndefined();
  } finally {
    server.close();
  }
});
