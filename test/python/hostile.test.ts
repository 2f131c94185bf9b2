/**
 * The installed Python SDK (wheel in a fresh venv, ./venv.ts) in front of a hostile or broken
 * server: pytest test_hostile.py. The server's first path segment picks the misbehaviour.
 */
import { once } from 'node:events';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPythonSdk, type PythonSdk } from './venv.js';

let sdk: PythonSdk;
beforeAll(() => {
  sdk = buildPythonSdk();
}, 180_000);
afterAll(() => sdk?.remove());

/** Writes `chunk` until the client hangs up (or a gigabyte is out); counts what was written. */
function endless(res: ServerResponse, chunk: Buffer, sent: { bytes: number }) {
  const pump = () => {
    while (!res.destroyed && sent.bytes < 1 << 30) {
      sent.bytes += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

/** What a bomb decodes to: a JSON object of BOMB_MIB MiB (the SDK's cap in the tests is 1 MiB). */
const BOMB_MIB = 256;

/** `{"id":"aaa…"}` of BOMB_MIB MiB, compressed by `z` to a few hundred KiB. */
async function bomb(z: zlib.Gzip | zlib.Deflate): Promise<Buffer> {
  const out: Buffer[] = [];
  z.on('data', (c: Buffer) => out.push(c));
  z.write('{"id":"');
  const mib = Buffer.alloc(1 << 20, 0x61);
  for (let i = 0; i < BOMB_MIB; i++) if (!z.write(mib)) await once(z, 'drain');
  z.end('"}');
  await once(z, 'end');
  return Buffer.concat(out);
}

/** A body with every key the spec requires of a Workflow. */
const WORKFLOW = {
  id: 'wf_1', name: 'Fox', description: null, aspect_ratio: '9:16', version: 1, scenes: [], nodes: [], edges: [],
  created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
};

async function hostile() {
  const gzipped = await bomb(zlib.createGzip());
  const bombs: Record<string, [string, Buffer]> = {
    gzip: ['gzip', gzipped],
    deflate: ['deflate', await bomb(zlib.createDeflate())],
    // Twice gzipped: 256 MiB from one inflated read of the outer layer's some 400 bytes.
    twice: ['gzip, gzip', zlib.gzipSync(gzipped)],
  };
  // 200 000 bytes that barely compress (an LCG's high bytes), gzipped: the file of /gzcut/.
  let seed = 1;
  const gzcutFile = Buffer.from(Array.from({ length: 200_000 }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24)));
  const gzcut = zlib.gzipSync(gzcutFile);
  const gzcutSeen = new Map<string, number>();
  const endlessSent = { bytes: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const json = { 'content-type': 'application/json' };
  const server = http.createServer((req, res) => {
    const deep = 200_000;
    switch (req.url!.split('/')[1]) {
      case 'drip': {
        res.writeHead(200, json).write('{"id":"');
        const t = setInterval(() => res.write('a'), 200);
        timers.add(t);
        return void res.on('close', () => clearInterval(t));
      }
      case 'driphead': {
        // The status line, then one header byte every 200 ms for 12 s, then a complete answer:
        // every read gets a byte well within httpx's read timeout.
        const socket = req.socket;
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-drip: ');
        let sent = 0;
        const t = setInterval(() => {
          if (++sent < 60) return void socket.write('a');
          clearInterval(t);
          socket.end('\r\ncontent-length: 13\r\nconnection: close\r\n\r\n{"id":"wf_1"}');
        }, 200);
        timers.add(t);
        return void socket.on('close', () => clearInterval(t));
      }
      case 'slowfile': {
        // A download of 10 bytes, one every 200 ms.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '10' });
        let sent = 0;
        const t = setInterval(() => (++sent < 10 ? res.write('b') : (clearInterval(t), res.end('b'))), 200);
        timers.add(t);
        return void res.on('close', () => clearInterval(t));
      }
      case 'shape-204':
        return void res.writeHead(204).end();
      case 'shape-array':
        return void res.writeHead(200, json).end('[]');
      case 'shape-null':
        return void res.writeHead(200, json).end('null');
      case 'shape-partial':
        return void res.writeHead(200, json).end('{"id":"wf_1"}');
      case 'shape-nan':
        return void res.writeHead(200, json).end(JSON.stringify(WORKFLOW).replace('"version":1', '"version":NaN'));
      // A number beyond a double: json made 1e400 inf, and took the 5000 digits for not JSON.
      case 'huge-exponent':
        return void res.writeHead(200, json).end(JSON.stringify(WORKFLOW).replace('"version":1', '"version":1e400'));
      case 'huge-integer':
        return void res.writeHead(200, json).end(JSON.stringify(WORKFLOW).replace('"version":1', `"version":${'9'.repeat(5000)}`));
      // The same in an error envelope's details: json made them inf, and the 5000 digits the envelope unreadable.
      case 'huge-error':
        return void res.writeHead(409, json).end(`{"error":{"code":"conflict","message":"taken","request_id":"req_1","limit":-1E+400,"big":${'9'.repeat(5000)},"ok":1.5,"s":"1e400"}}`);
      case 'http10':
      case 'http10cut': {
        // No content-length: the body ends where the server closes the connection (cut short or not).
        const body = JSON.stringify(WORKFLOW);
        const sent = req.url!.startsWith('/http10cut/') ? body.slice(0, 40) : body;
        return void req.socket.end(`HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n${sent}`);
      }
      case 'endless':
        res.writeHead(200, json).write('{"id":"');
        return endless(res, Buffer.alloc(64 * 1024, 0x61), endlessSent);
      case 'portal':
        return void res.writeHead(200, { 'content-type': 'text/html', 'x-request-id': 'req_portal' }).end('<html><body>Sign in to the Wi-Fi</body></html>');
      case 'deep':
        return void res.writeHead(200, json).end('['.repeat(deep) + ']'.repeat(deep));
      case 'deep500':
        return void res.writeHead(500, json).end('['.repeat(deep) + ']'.repeat(deep));
      case 'bomb': {
        // Small on the wire, BOMB_MIB MiB decoded: /bomb/<kind>/… (also a download's URL).
        const [encoding, body] = bombs[req.url!.split('/')[2]!]!;
        return void res.writeHead(200, { ...json, 'content-encoding': encoding, 'content-length': body.length }).end(body);
      }
      case 'retry': {
        // A 503 asking to wait /retry/<Retry-After>/<Retry-After-Ms>/… (either may be `-`: not sent).
        const [after, afterMs] = req.url!.split('/').slice(2, 4).map((v) => decodeURIComponent(v!));
        const headers: Record<string, string> = { ...json };
        if (after !== '-') headers['retry-after'] = after!;
        if (afterMs !== '-') headers['retry-after-ms'] = afterMs!;
        return void res.writeHead(503, headers).end('{"error":{"code":"unavailable","message":"busy"}}');
      }
      case 'gzcut': {
        // /gzcut/<key>/…: a gzip answer with ranges and an ETag, its first cut off halfway; a
        // Range is served, as HTTP says, from the gzip bytes, which is not the decoded offset.
        const key = req.url!.split('/')[2]!;
        const n = (gzcutSeen.get(key) ?? 0) + 1;
        gzcutSeen.set(key, n);
        const head = { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip', 'accept-ranges': 'bytes', etag: '"gz1"' };
        const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
        if (range) {
          const start = Number(range[1]);
          if (start >= gzcut.length) return void res.writeHead(416, { 'content-range': `bytes */${gzcut.length}` }).end();
          res.writeHead(206, { ...head, 'content-range': `bytes ${start}-${gzcut.length - 1}/${gzcut.length}`, 'content-length': gzcut.length - start });
          return void res.end(gzcut.subarray(start));
        }
        res.writeHead(200, { ...head, 'content-length': gzcut.length });
        if (n > 1) return void res.end(gzcut);
        return void res.write(gzcut.subarray(0, gzcut.length >> 1), () => res.destroy());
      }
      case 'charset':
        // A Workflow labelled with the charset /charset/<name>/… names (rot13 is no text encoding).
        return void res.writeHead(200, { 'content-type': `application/json; charset=${req.url!.split('/')[2]}` }).end(JSON.stringify(WORKFLOW));
      case 'badgzip':
        return void res.writeHead(200, { ...json, 'content-encoding': 'gzip' }).end('this is not a gzip stream');
      case 'html502':
        return void res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>');
      case 'redirect':
        return void res.writeHead(307, { location: `http://elsewhere.example${req.url}` }).end();
      default:
        return void res.writeHead(404).end();
    }
  });
  return new Promise<{ url: string; endlessSent: typeof endlessSent; close(): Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        endlessSent,
        close: () => {
          for (const t of timers) clearInterval(t);
          server.closeAllConnections();
          return new Promise((r) => server.close(() => r()));
        },
      }),
    ),
  );
}

describe('the installed Python SDK against a hostile server', () => {
  it('ends every misbehaviour in a typed error, in bounded time and memory (pytest test_hostile.py)', { timeout: 120_000 }, async () => {
    const server = await hostile();
    try {
      const file = path.resolve('test/python/test_hostile.py');
      const r = await sdk.runAsync(['-m', 'pytest', '-q', '-p', 'no:cacheprovider', file], { env: { LAVENDLY_HOSTILE_URL: server.url }, cwd: sdk.dir, timeoutMs: 100_000 });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/72 passed/);
      // The client hung up soon after its 1 MiB cap instead of draining the gigabyte.
      expect(server.endlessSent.bytes).toBeLessThan(64 << 20);
    } finally {
      await server.close();
    }
  });
});
