/**
 * A JSON body refused part-way (a chunked body past the size limit, where no Content-Length lets
 * the reader refuse it before reading) is answered 413 on a connection kept alive. The rest of
 * that body is still on its way; it must be read and dropped, so that the client's next request
 * on the same connection is answered. It used to be left unread, and the connection was reset
 * under the next request (a client saw ECONNRESET for a valid call).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { petstoreApp } from '../../examples/petstore/src/app.js';
import { testDatabases } from '../helpers/db.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * One connection: `path` with a chunked body of `bytes` (JSON text when `json`, else a form), the
 * whole body sent, then a small request on the same connection. Resolves to the status of every
 * answer read before the connection closed.
 */
function oversizedThenSmall(origin: string, path: string, bytes: number, headers: string, json = true): Promise<number[]> {
  const { hostname, port } = new URL(origin);
  const socket = net.connect(Number(port), hostname);
  let received = '';
  socket.on('data', (c: Buffer) => { received += c.toString('latin1'); });
  socket.on('error', () => { /* a reset connection still closes; the statuses say what was answered */ });
  const type = json ? 'application/json' : 'application/x-www-form-urlencoded';
  socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\n${headers}Content-Type: ${type}\r\nTransfer-Encoding: chunked\r\n\r\n`);
  const head = json ? '{"z":"' : 'z=';
  socket.write(`${head.length.toString(16)}\r\n${head}\r\n`);
  const chunk = 'x'.repeat(64 * 1024);
  for (let sent = 0; sent < bytes; sent += chunk.length) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
  if (json) socket.write('2\r\n"}\r\n');
  socket.write('0\r\n\r\n');
  const small = json ? '{}' : 'a=b';
  socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\n${headers}Content-Type: ${type}\r\nContent-Length: ${small.length}\r\nConnection: close\r\n\r\n${small}`);
  return new Promise((resolve) => socket.on('close', () => resolve([...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1])))));
}

describe.each(testDatabases())('a JSON body refused past its limit, on %s', (kind) => {
  let s: TestServer;
  let key: string;
  beforeAll(async () => {
    s = await startTestServer(kind);
    key = (await s.account()).key;
  });
  afterAll(async () => { await s.close(); });

  it('an API operation answers the next request on the connection', async () => {
    expect(await oversizedThenSmall(s.origin, '/v1/workflows', 2 * 1024 * 1024, `Authorization: Bearer ${key}\r\n`)).toEqual([413, 400]);
  });

  it('the console sign-in and the OAuth endpoints do too', async () => {
    expect(await oversizedThenSmall(s.origin, '/auth/sign-in', 1024 * 1024, '')).toEqual([413, 400]);
    expect(await oversizedThenSmall(s.origin, '/oauth/register', 1024 * 1024, '')).toEqual([413, 400]);
    expect(await oversizedThenSmall(s.origin, '/oauth/token', 1024 * 1024, '', false)).toEqual([413, 400]);
  });
});

describe('a JSON body refused past its limit, in an app built on the framework (examples/petstore)', () => {
  let server: Server;
  let origin = '';
  beforeAll(async () => {
    server = petstoreApp().listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => { await new Promise((r) => server.close(r)); });

  it('answers the next request on the connection', async () => {
    expect(await oversizedThenSmall(origin, '/v1/pets', 2 * 1024 * 1024, '')).toEqual([413, 400]);
  });
});
