import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_BYTES, ProviderClient } from '../../src/providers/http.js';
import { send } from '../../src/publish/http.js';

// A provider (or whatever answers at its URL) that never stops sending: the client must refuse the
// answer once it passes the limit instead of buffering it all into memory. The server offers far
// more than any limit; what it got to send before the client hung up includes what the sockets
// buffer on the way (a few MB on loopback), hence SLACK.
const OFFERED = 64 * 1024 * 1024;
const SLACK = 12 * 1024 * 1024;
describe('provider and platform answers larger than the clients read', () => {
  let server: http.Server;
  let origin: string;
  let sent = 0;
  let stopped = false;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.writeHead(req.url === '/error' ? 500 : 200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      res.write('{"data": "');
      const pump = () => {
        while (!stopped && sent < OFFERED) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end('"}');
      };
      res.on('close', () => { stopped = true; });
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const client = new ProviderClient({ provider: 'fake:model', headers: {}, secrets: [], retries: 0 });

  it('refuses a JSON answer past the limit and stops reading it', async () => {
    sent = 0;
    stopped = false;
    await expect(client.json(`${origin}/huge`)).rejects.toMatchObject({ code: 'provider_bad_response' });
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(true);
    expect(sent).toBeLessThan(MAX_JSON_BYTES + SLACK);
  });

  it('reads only the start of an endless error body', async () => {
    sent = 0;
    stopped = false;
    await expect(client.json(`${origin}/error`)).rejects.toMatchObject({ status: 500 });
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(true);
    expect(sent).toBeLessThan(SLACK);
  });

  it('a publishing platform that never stops answering fails the step instead of filling memory', async () => {
    sent = 0;
    stopped = false;
    await expect(send('fake', 'upload', `${origin}/huge`, { method: 'GET', timeoutMs: 10_000, beforeUpload: true }))
      .rejects.toMatchObject({ name: expect.any(String), message: expect.stringMatching(/more than \d+ bytes/) });
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(true);
    expect(sent).toBeLessThan(SLACK);
  });
});
