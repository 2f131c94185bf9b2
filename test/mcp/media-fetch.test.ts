/**
 * Inlining a frame is best effort, and bounded: a frame link that streams without end (no
 * Content-Length to refuse it by) or never answers leaves the result without the image, with its
 * link, within the frame timeout. Before, the first was read into memory without limit and the
 * second held the tool call until the client gave up.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaContent } from '../../packages/mcp/src/media.js';

let origin: string;
let endlessSent = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/ok.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  if (req.url === '/hang.png') return; // headers never come
  // /endless.png: chunked (no Content-Length), 64 KB at a time until the reader goes away.
  res.writeHead(200, { 'content-type': 'image/png' });
  const chunk = Buffer.alloc(64 * 1024, 1);
  const timer = setInterval(() => { endlessSent += chunk.length; res.write(chunk); }, 2);
  res.on('close', () => clearInterval(timer));
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const frame = (name: string) => ({ url: `${origin}/${name}`, width: 512, height: 288, at_s: 0, expires_at: '2030-01-01T00:00:00Z' });

describe('frames inlined in tool results', () => {
  it('a small frame comes as an image block and a link', async () => {
    const content = await mediaContent(frame('ok.png'));
    expect(content.map((c) => c.type)).toEqual(['image', 'resource_link']);
  });

  it('a frame that streams without end is given up past 2 MB: the link alone', async () => {
    const content = await mediaContent(frame('endless.png'));
    expect(content.map((c) => c.type)).toEqual(['resource_link']);
    expect(endlessSent).toBeLessThan(16 * 1024 * 1024);
  }, 20_000);

  it('a frame that never answers is given up after the frame timeout: the link alone', async () => {
    const started = Date.now();
    const content = await mediaContent(frame('hang.png'));
    expect(content.map((c) => c.type)).toEqual(['resource_link']);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);
});
