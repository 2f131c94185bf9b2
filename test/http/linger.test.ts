import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { lingerAfterAnswer } from '../../packages/framework/src/runtime/linger.js';

const KB = 1024;

/** A server that reads the first body chunk, then refuses with 413 and lingers within `limits`. */
async function refusingServer(limits: { ms: number; bytes: number }) {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') { res.end('second request served'); return; }
    req.once('data', () => {
      req.pause();
      lingerAfterAnswer(req, res, limits);
      const body = '{"error":{"code":"payload_too_large"}}';
      res.writeHead(413, { 'content-type': 'application/json', 'content-length': String(body.length) }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A raw client: headers announcing `declared` bytes, then `send` bytes in 16 KB writes. */
function rawUpload(port: number, declared: number) {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (c) => { received += c.toString('latin1'); });
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
  socket.on('error', () => { /* a cut-off connection may reset: `closed` still resolves */ });
  socket.write(`PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${declared}\r\n\r\n`);
  const answered = () => new Promise<void>((resolve) => {
    const check = () => { if (received.includes('payload_too_large')) { socket.off('data', check); resolve(); } };
    socket.on('data', check);
    check();
  });
  return { socket, closed, answered, received: () => received };
}

let open: http.Server | undefined;
afterEach(async () => {
  open?.closeAllConnections();
  await new Promise((r) => open?.close(r) ?? r(undefined));
  open = undefined;
});

describe('lingering close after a refused body', () => {
  it('a client that sends the rest keeps its connection: the next request on it is served', async () => {
    const { server, port } = await refusingServer({ ms: 30_000, bytes: 1024 * KB });
    open = server;
    const c = rawUpload(port, 64 * KB);
    c.socket.write(Buffer.alloc(16 * KB));
    await c.answered();
    expect(c.received()).toMatch(/^HTTP\/1\.1 413 /);
    c.socket.write(Buffer.alloc(48 * KB)); // the rest of the declared body, drained by the server
    c.socket.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((resolve) => { const t = setInterval(() => { if (c.received().includes('second request served')) { clearInterval(t); resolve(); } }, 10); });
    c.socket.destroy();
  });

  it('a client that stops sending is cut off once the time bound passes, after reading its answer', async () => {
    const { server, port } = await refusingServer({ ms: 200, bytes: 1024 * KB });
    open = server;
    const c = rawUpload(port, 10 * 1024 * KB);
    c.socket.write(Buffer.alloc(16 * KB));
    const received = await c.closed; // the server ends the connection; the test would time out otherwise
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).toContain('payload_too_large');
  });

  it('a client that keeps sending is cut off past the byte bound, long before its declared length', async () => {
    const { server, port } = await refusingServer({ ms: 30_000, bytes: 256 * KB });
    open = server;
    const c = rawUpload(port, 100 * 1024 * KB);
    c.socket.write(Buffer.alloc(16 * KB));
    await c.answered();
    let sent = 16 * KB;
    const chunk = Buffer.alloc(16 * KB);
    let closed = false;
    void c.closed.then(() => { closed = true; });
    while (!closed && sent < 100 * 1024 * KB) {
      if (!c.socket.write(chunk)) await new Promise((r) => { c.socket.once('drain', r); c.socket.once('close', r); });
      sent += chunk.length;
    }
    expect(closed).toBe(true);
    expect(sent).toBeLessThan(100 * 1024 * KB);
    expect(c.received()).toMatch(/^HTTP\/1\.1 413 /);
  });
});
