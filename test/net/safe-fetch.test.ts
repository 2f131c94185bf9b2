import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { safeDownload, SafeFetchError, type Resolver } from '../../src/net/safe-fetch.js';
import { filesUnder, startRawServer, startServer, tempDir, type TestServer } from './servers.js';

const body = Buffer.from('hello, this is a file\n'.repeat(100));

let origin: TestServer;
let internal: TestServer; // stands for an internal service: must never see a connection
let dir: string;

beforeAll(async () => {
  internal = await startServer((_req, res) => res.end('secret'));
  origin = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const to = url.searchParams.get('to');
    switch (url.pathname) {
      case '/file':
        res.setHeader('content-type', 'text/plain');
        res.end(body);
        return;
      case '/redirect':
        res.statusCode = Number(url.searchParams.get('status') ?? 302);
        res.setHeader('location', to ?? '/file');
        res.end();
        return;
      case '/hop': {
        // /hop?n=3 -> /hop?n=2 -> ... -> /file
        const n = Number(url.searchParams.get('n'));
        res.statusCode = 301;
        res.setHeader('location', n > 1 ? `/hop?n=${n - 1}` : '/file');
        res.end();
        return;
      }
      case '/loop':
        res.statusCode = 302;
        res.setHeader('location', '/loop');
        res.end();
        return;
      case '/big-declared':
        res.setHeader('content-length', String(50 * 1024 * 1024));
        res.write(Buffer.alloc(1024));
        // never finishes: the client must refuse on the header alone
        return;
      case '/big-chunked': {
        // 10 MB, chunked (no Content-Length)
        let sent = 0;
        const chunk = Buffer.alloc(64 * 1024, 1);
        const pump = () => {
          while (sent < 10 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      case '/endless': {
        // an endless trickle: a little every 20 ms, forever
        const timer = setInterval(() => res.write(Buffer.alloc(100, 2)), 20);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case '/stall':
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write('x');
        return; // then nothing, ever
      case '/no-headers':
        return; // never answers at all
      case '/404':
        res.statusCode = 404;
        res.end('nope');
        return;
      default:
        res.statusCode = 500;
        res.end();
    }
  });
});

afterAll(async () => {
  await origin.close();
  await internal.close();
});

beforeAll(() => {
  dir = tempDir();
});
afterEach(() => {
  // every test starts from an empty directory
  for (const f of filesUnder(dir)) fs.rmSync(f);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const policy = () => ({ allowEndpoints: [`127.0.0.1:${origin.port}`] });
const dest = () => path.join(dir, 'sub', 'out.bin');

async function failure(promise: Promise<unknown>): Promise<SafeFetchError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SafeFetchError);
    return err as SafeFetchError;
  }
  throw new Error('expected the download to fail');
}

describe('safeDownload', () => {
  it('downloads from the allow-listed test origin, into place, atomically', async () => {
    const result = await safeDownload(`${origin.origin}/file`, { destPath: dest(), maxBytes: 1e6, allowedPolicy: policy() });
    expect(result.bytes).toBe(body.length);
    expect(fs.readFileSync(dest())).toEqual(body);
    expect(result.contentType).toBe('text/plain');
    expect(result.address).toBe('127.0.0.1');
    expect(result.head.subarray(0, 5).toString()).toBe('hello');
    expect(filesUnder(dir)).toEqual([dest()]);
  });

  it('refuses the same server without the explicit exception (default policy), without connecting', async () => {
    const before = origin.connections;
    const err = await failure(safeDownload(`${origin.origin}/file`, { destPath: dest(), maxBytes: 1e6 }));
    expect(err.reason).toBe('url_not_allowed');
    expect(origin.connections).toBe(before);
    expect(filesUnder(dir)).toEqual([]);
  });

  describe('SSRF address forms are refused without DNS or a connection', () => {
    const forms = [
      '127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '2130706433', '0x7f000001', '0177.0.0.1', '127.1',
      '0.0.0.0', 'localhost', '169.254.169.254', '10.0.0.1', '192.168.1.1', '[fe80::1]', '[::]', '0', '127.0.0.1.', 'LocalHost',
    ];
    it.each(forms)('http://%s:<port>/', async (host) => {
      const before = internal.connections;
      let resolverCalls = 0;
      const resolve: Resolver = async () => {
        resolverCalls++;
        return [{ address: '127.0.0.1', family: 4 }];
      };
      const started = Date.now();
      const err = await failure(safeDownload(`http://${host}:${internal.port}/`, { destPath: dest(), maxBytes: 1e6, resolve, timeoutMs: 5000 }));
      expect(err.reason).toBe('url_not_allowed');
      expect(resolverCalls).toBe(0);
      expect(internal.connections).toBe(before);
      expect(Date.now() - started).toBeLessThan(500);
      expect(filesUnder(dir)).toEqual([]);
    });

    it('refuses non-http schemes', async () => {
      for (const url of ['file:///etc/passwd', 'ftp://example.com/x', 'gopher://example.com/']) {
        expect((await failure(safeDownload(url, { destPath: dest(), maxBytes: 1e6 }))).reason).toBe('url_not_allowed');
      }
    });

    it('refuses a name whose DNS answer is internal, and a name with any internal answer among public ones', async () => {
      const before = internal.connections;
      for (const answers of [[{ address: '127.0.0.1', family: 4 as const }], [{ address: '8.8.8.8', family: 4 as const }, { address: '169.254.169.254', family: 4 as const }], [{ address: '::ffff:127.0.0.1', family: 6 as const }]]) {
        const err = await failure(safeDownload(`http://cdn.example.com:${internal.port}/`, { destPath: dest(), maxBytes: 1e6, resolve: async () => answers }));
        expect(err.reason).toBe('url_not_allowed');
      }
      expect(internal.connections).toBe(before);
    });
  });

  describe('redirects', () => {
    it('follows redirects within the allowed origin, recording each hop', async () => {
      const result = await safeDownload(`${origin.origin}/hop?n=3`, { destPath: dest(), maxBytes: 1e6, allowedPolicy: policy() });
      expect(result.bytes).toBe(body.length);
      expect(result.redirects).toHaveLength(3);
      expect(result.finalUrl).toBe(`${origin.origin}/file`);
    });

    it('stops after maxRedirects', async () => {
      const err = await failure(safeDownload(`${origin.origin}/loop`, { destPath: dest(), maxBytes: 1e6, allowedPolicy: policy(), maxRedirects: 5 }));
      expect(err.reason).toBe('too_many_redirects');
      expect(filesUnder(dir)).toEqual([]);
      const tooMany = await failure(safeDownload(`${origin.origin}/hop?n=6`, { destPath: dest(), maxBytes: 1e6, allowedPolicy: policy() }));
      expect(tooMany.reason).toBe('too_many_redirects');
      const ok = await safeDownload(`${origin.origin}/hop?n=5`, { destPath: dest(), maxBytes: 1e6, allowedPolicy: policy() });
      expect(ok.redirects).toHaveLength(5);
    });

    const targets = () => [
      `http://127.0.0.1:${internal.port}/`, // loopback on another port: not the allowed endpoint
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      `http://[::ffff:127.0.0.1]:${internal.port}/`,
      `http://2130706433:${internal.port}/`,
      `http://localhost:${internal.port}/`,
      'http://10.0.0.1/',
      'file:///etc/passwd',
    ];
    it('re-checks every hop: redirects to internal addresses are refused', async () => {
      const before = internal.connections;
      for (const to of targets()) {
        for (const status of [301, 302, 307]) {
          const started = Date.now();
          const err = await failure(
            safeDownload(`${origin.origin}/redirect?status=${status}&to=${encodeURIComponent(to)}`, { destPath: dest(), maxBytes: 1e6, allowedPolicy: policy() }),
          );
          expect(err.reason, to).toBe('url_not_allowed');
          expect(Date.now() - started).toBeLessThan(1000);
        }
      }
      expect(internal.connections).toBe(before);
      expect(filesUnder(dir)).toEqual([]);
    });

    it('re-resolves a redirect target host and refuses an internal answer', async () => {
      const resolve: Resolver = async (host) => (host === 'internal.example.com' ? [{ address: '127.0.0.1', family: 4 }] : []);
      const to = `http://internal.example.com:${internal.port}/`;
      const before = internal.connections;
      const err = await failure(safeDownload(`${origin.origin}/redirect?to=${encodeURIComponent(to)}`, { destPath: dest(), maxBytes: 1e6, allowedPolicy: policy(), resolve }));
      expect(err.reason).toBe('url_not_allowed');
      expect(internal.connections).toBe(before);
    });
  });

  describe('DNS rebinding', () => {
    it('connects to the address that was checked, never to a later answer', async () => {
      // "public" stands for the public address the name had at check time (127.0.0.2, allowed
      // as an exact endpoint); the internal server listens on 127.0.0.1 at the same port, which
      // is what the name answers on every later lookup.
      let pub: TestServer;
      try {
        pub = await startServer((_req, res) => res.end('public content'), { host: '127.0.0.2', port: internal.port });
      } catch {
        // some sandboxes lack 127.0.0.2; the rebinding guarantee is then shown by the next test
        return;
      }
      try {
        const calls: string[] = [];
        const resolve: Resolver = async (host) => {
          calls.push(host);
          return calls.length === 1 ? [{ address: '127.0.0.2', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
        };
        const before = internal.connections;
        const result = await safeDownload(`http://assets.example.com:${internal.port}/a`, {
          destPath: dest(), maxBytes: 1e6, resolve, allowedPolicy: { allowEndpoints: [`127.0.0.2:${internal.port}`] },
        });
        expect(fs.readFileSync(dest(), 'utf8')).toBe('public content');
        expect(result.address).toBe('127.0.0.2');
        expect(calls).toEqual(['assets.example.com']); // resolved once, by us; the connect did not look up again
        expect(internal.connections).toBe(before);
        expect(pub.requests).toEqual(['/a']);
      } finally {
        await pub.close();
      }
    });

    it('a resolver that turns internal after the check is never consulted for the connection', async () => {
      // The check sees a public address; had the connection re-resolved, it would reach the
      // internal server. It must instead go to the public address.
      let calls = 0;
      const resolve: Resolver = async () => (++calls === 1 ? [{ address: '100.128.0.1', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
      const before = internal.connections;
      // Whatever happens on the way to the public address (a sandbox may even intercept it),
      // the internal server must see nothing and the name must have been resolved exactly once.
      const outcome = await safeDownload(`http://rebind.example.com:${internal.port}/`, { destPath: dest(), maxBytes: 1e6, resolve, timeoutMs: 700, idleTimeoutMs: 700 })
        .then((r) => r.address, (err: unknown) => err);
      if (typeof outcome === 'string') expect(outcome).toBe('100.128.0.1');
      else expect(outcome).toBeInstanceOf(SafeFetchError);
      expect(calls).toBe(1);
      expect(internal.connections).toBe(before);
    });
  });

  describe('size limits', () => {
    it('refuses a Content-Length over the limit before reading the body', async () => {
      const started = Date.now();
      const err = await failure(safeDownload(`${origin.origin}/big-declared`, { destPath: dest(), maxBytes: 1024 * 1024, allowedPolicy: policy() }));
      expect(err.reason).toBe('too_large');
      expect(err.detail.declaredBytes).toBe(50 * 1024 * 1024);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(filesUnder(dir)).toEqual([]);
    });

    it('aborts a chunked body (no Content-Length) once it passes the limit, while streaming', async () => {
      const err = await failure(safeDownload(`${origin.origin}/big-chunked`, { destPath: dest(), maxBytes: 1024 * 1024, allowedPolicy: policy() }));
      expect(err.reason).toBe('too_large');
      expect(err.detail.receivedBytes).toBeGreaterThan(1024 * 1024);
      expect(err.detail.receivedBytes).toBeLessThan(2 * 1024 * 1024);
      expect(filesUnder(dir)).toEqual([]);
    });

    it('a lying Content-Length (says small, sends big): never more than declared, never more than the limit', async () => {
      // Says 100 bytes, then sends 5 MB on the same connection.
      const liar = await startRawServer((socket) => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: image/png\r\n\r\n');
        socket.write(Buffer.alloc(5 * 1024 * 1024, 7), () => socket.end());
      });
      try {
        const p = { allowEndpoints: [`127.0.0.1:${liar.port}`] };
        let saved = 0;
        try {
          const r = await safeDownload(`${liar.origin}/`, { destPath: dest(), maxBytes: 1000, allowedPolicy: p });
          saved = r.bytes;
          expect(fs.statSync(dest()).size).toBe(100);
        } catch (err) {
          expect(err).toBeInstanceOf(SafeFetchError);
          expect(filesUnder(dir)).toEqual([]);
        }
        expect(saved).toBeLessThanOrEqual(100);
      } finally {
        await liar.close();
      }
    });

    it('a close-delimited body with no length (HTTP/1.0 style) is cut at the limit', async () => {
      const liar = await startRawServer((socket) => {
        socket.write('HTTP/1.0 200 OK\r\nContent-Type: image/png\r\n\r\n');
        socket.write(Buffer.alloc(5 * 1024 * 1024, 7), () => socket.end());
      });
      try {
        const err = await failure(safeDownload(`${liar.origin}/`, { destPath: dest(), maxBytes: 64 * 1024, allowedPolicy: { allowEndpoints: [`127.0.0.1:${liar.port}`] } }));
        expect(err.reason).toBe('too_large');
        expect(filesUnder(dir)).toEqual([]);
      } finally {
        await liar.close();
      }
    });
  });

  describe('timeouts', () => {
    it('an endless chunked body hits the overall deadline', async () => {
      const started = Date.now();
      const err = await failure(safeDownload(`${origin.origin}/endless`, { destPath: dest(), maxBytes: 100 * 1024 * 1024, allowedPolicy: policy(), timeoutMs: 800 }));
      expect(err.reason).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(2500);
      expect(filesUnder(dir)).toEqual([]);
    });

    it('a stalled body hits the idle timeout', async () => {
      const err = await failure(safeDownload(`${origin.origin}/stall`, { destPath: dest(), maxBytes: 1e6, allowedPolicy: policy(), idleTimeoutMs: 300, timeoutMs: 10_000 }));
      expect(err.reason).toBe('idle_timeout');
      expect(filesUnder(dir)).toEqual([]);
    });

    it('a server that never answers hits the idle timeout', async () => {
      const err = await failure(safeDownload(`${origin.origin}/no-headers`, { destPath: dest(), maxBytes: 1e6, allowedPolicy: policy(), idleTimeoutMs: 300, timeoutMs: 10_000 }));
      expect(err.reason).toBe('idle_timeout');
    });

    it('the caller can abort', async () => {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 200);
      const err = await failure(safeDownload(`${origin.origin}/endless`, { destPath: dest(), maxBytes: 1e9, allowedPolicy: policy(), signal: ac.signal }));
      expect(err.reason).toBe('aborted');
      expect(filesUnder(dir)).toEqual([]);
    });
  });

  it('reports non-2xx answers and leaves no file', async () => {
    const err = await failure(safeDownload(`${origin.origin}/404`, { destPath: dest(), maxBytes: 1e6, allowedPolicy: policy() }));
    expect(err.reason).toBe('http_status');
    expect(err.detail.status).toBe(404);
    expect(filesUnder(dir)).toEqual([]);
  });

  it('onResponse may refuse before the body is read', async () => {
    const err = await failure(
      safeDownload(`${origin.origin}/file`, {
        destPath: dest(), maxBytes: 1e6, allowedPolicy: policy(),
        onResponse: () => { throw new SafeFetchError('too_large', 'quota'); },
      }),
    );
    expect(err.message).toBe('quota');
    expect(filesUnder(dir)).toEqual([]);
  });
});
