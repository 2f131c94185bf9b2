/** A tiny HTTP listener on loopback for the fake providers: records every request it gets. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

export interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, or the multipart form's fields (files as Buffers). */
  body: any;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  json?: unknown;
  bytes?: Buffer;
  /** Writes the answer itself (a stall, a drip, a cut connection); the status and headers above are not sent. */
  raw?: (res: http.ServerResponse) => void;
}

export type Route = (req: Seen) => Reply | Promise<Reply>;

export interface FakeServer {
  origin: string;
  seen: Seen[];
  close(): Promise<void>;
}

async function readBody(req: http.IncomingMessage): Promise<any> {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('multipart/form-data')) {
    // undici parses multipart for us: the fake checks what a real server would receive.
    const form = await new Response(Readable.toWeb(req) as ReadableStream, { headers: { 'content-type': type } }).formData();
    const out: Record<string, unknown> = {};
    for (const [k, v] of form as unknown as Iterable<[string, string | Blob]>) out[k] = typeof v === 'string' ? v : Buffer.from(await v.arrayBuffer());
    return out;
  }
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function startFake(route: Route): Promise<FakeServer> {
  const seen: Seen[] = [];
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://fake');
      const s: Seen = { method: req.method ?? 'GET', path: url.pathname + url.search, headers: req.headers, body: await readBody(req) };
      seen.push(s);
      const r = await route(s);
      if (r.raw) return r.raw(res);
      const headers: Record<string, string> = { ...r.headers };
      if (r.json !== undefined) headers['content-type'] = 'application/json';
      res.writeHead(r.status ?? 200, headers);
      res.end(r.json !== undefined ? JSON.stringify(r.json) : r.bytes);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `fake broke: ${(err as Error).message}` } }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
