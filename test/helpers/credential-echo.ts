/**
 * Two real HTTP listeners for the SDK credential tests (test/generator/sdk-security.test.ts,
 * test/python/security.test.ts): `api` answers every request with what it received (path, query,
 * Authorization, X-API-Key, Cookie) as JSON, and `elsewhere`, another origin, records who came.
 * `api` redirects to `elsewhere` where the query has `q=redirect` or the path ends in `/away`.
 */
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  /** The query as sent (raw), and decoded. */
  rawQuery: string;
  query: Record<string, string>;
  authorization: string | null;
  apiKey: string | null;
  cookie: string | null;
}

export interface CredentialEcho {
  api: string;
  elsewhere: string;
  /** What `elsewhere` was sent. */
  elsewhereSeen: Received[];
  /** Every request `api` received. */
  apiSeen: Received[];
  /** A URL nobody listens on. */
  closed: string;
  close(): Promise<void>;
}

function received(req: IncomingMessage): Received {
  const url = new URL(req.url ?? '/', 'http://x');
  const one = (name: string) => {
    const v = req.headers[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  };
  return {
    path: url.pathname, rawQuery: url.search.slice(1), query: Object.fromEntries(url.searchParams),
    authorization: one('authorization'), apiKey: one('x-api-key'), cookie: one('cookie'),
  };
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function startCredentialEcho(): Promise<CredentialEcho> {
  const elsewhereSeen: Received[] = [];
  const apiSeen: Received[] = [];
  const other = http.createServer((req, res) => {
    elsewhereSeen.push(received(req));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  const elsewhere = await listen(other);
  const api = http.createServer((req, res) => {
    const got = received(req);
    apiSeen.push(got);
    if (got.query.q === 'redirect' || got.path.endsWith('/away')) {
      res.writeHead(307, { location: `${elsewhere}/stolen` }).end();
    } else if (got.query.q === 'fail') {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'internal', message: 'broken' } }));
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(got));
    }
  });
  const apiUrl = await listen(api);
  const gone = http.createServer();
  const closed = await listen(gone);
  await new Promise((resolve) => gone.close(resolve));
  return {
    api: apiUrl, elsewhere, elsewhereSeen, apiSeen, closed,
    close: async () => {
      await Promise.all([api, other].map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}
