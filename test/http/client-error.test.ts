/**
 * Requests that are not valid HTTP/1.1 get the error envelope (with a request id) and a closed
 * connection, never Node's bare `400 Bad Request` without a body (issue 13, finding 3).
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Writes `data` on a raw connection, half-closes when asked, and reads until the server closes. */
async function exchange(port: number, data: string, halfClose = true): Promise<{ head: string; body: any; closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  let out = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => { out += d; });
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(data);
  if (halfClose) socket.end();
  const closed = await new Promise<boolean>((resolve) => {
    socket.once('close', () => resolve(true));
    setTimeout(() => resolve(false), 5_000);
  });
  socket.destroy();
  const [head = '', body = ''] = out.split('\r\n\r\n');
  return { head, body: body ? JSON.parse(body) : null, closed };
}

describe('malformed HTTP', () => {
  let s: TestServer;
  let key: string;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    key = (await s.account()).key;
  });
  afterAll(async () => { await s.close(); });

  const expectEnvelope = (r: { head: string; body: any; closed: boolean }, status: number, code: string) => {
    expect(r.head.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}`);
    expect(r.head).toMatch(/\r\ncontent-type: application\/json; charset=utf-8\r\n/i);
    expect(r.head).toMatch(/\r\nconnection: close/i);
    expect(r.body.error).toMatchObject({ code, request_id: expect.stringMatching(/^req_/) });
    expect(r.head).toContain(`X-Request-Id: ${r.body.error.request_id}`);
    expect(r.closed).toBe(true);
  };

  it('answers a body shorter than its Content-Length, once the client stops sending, with the envelope', async () => {
    const r = await exchange(s.running.port, `POST /v1/workflows HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n`
      + 'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"a"}');
    expectEnvelope(r, 400, 'malformed_request');
    expect(r.body.error.message).toMatch(/Content-Length/);
  });

  it('answers a garbage request line, a bad header, a bad Content-Length and a bad chunk with the envelope', async () => {
    for (const request of [
      'GARBAGE\r\n\r\n',
      'GET /v1/_status HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n',
      'POST /v1/workflows HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      'POST /v1/workflows HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      `POST /v1/workflows HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
    ]) expectEnvelope(await exchange(s.running.port, request, false), 400, 'malformed_request');
  });

  it('answers oversized headers with 431 in the envelope', async () => {
    const r = await exchange(s.running.port, `GET /v1/_status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, false);
    expectEnvelope(r, 431, 'headers_too_large');
  });

  it('answers an HTTP/1.1 request without Host in the envelope, and serves one with an Expect it does not know', async () => {
    expectEnvelope(await exchange(s.running.port, 'GET /livez HTTP/1.1\r\nConnection: close\r\n\r\n', false), 400, 'malformed_request');
    // HTTP/1.0 had no Host header: such a request is still served.
    expect((await exchange(s.running.port, 'GET /livez HTTP/1.0\r\n\r\n', false)).head).toMatch(/^HTTP\/1.1 200 /);
    const expectFoo = await exchange(s.running.port, 'GET /livez HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nConnection: close\r\n\r\n', false);
    expect(expectFoo.head).toMatch(/^HTTP\/1.1 200 /);
  });

  it('keeps serving well-formed requests afterwards', async () => {
    const r = await fetch(`${s.base}/_status`);
    expect(r.status).toBe(200);
  });
});
