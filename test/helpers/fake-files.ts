/**
 * A file host that misbehaves on purpose, for the SDKs' download tests: two listeners (`api`, the
 * SDK's own origin, and `elsewhere`, a foreign one) serving `bytes` under paths that say what goes
 * wrong. Every request is recorded with the headers a test checks (Authorization, Range).
 *   /file           the file; honours Range (206, If-Range on the ETag)
 *   /plain          the file, without Accept-Ranges
 *   /cut-ranges     every whole answer stops after a third and drops the connection; ranges honoured
 *   /cut-norange*   the same, without Accept-Ranges: the retry gets the whole file again
 *   /cut-always     every answer is cut off, no ranges
 *   /long-length    declares twice the file's length, sends the file, closes
 *   /bad-range      drops every whole answer; answers a Range with a 206 that starts at 0
 *   /stall          sends a little, then nothing
 *   /gzcut*         gzip-encoded (despite Accept-Encoding: identity), with ranges and an ETag; the
 *                   first answer stops halfway and drops the connection; a Range is served from
 *                   the gzip bytes, as HTTP says, which is not where the decoded file stands
 *   /away           302 to `elsewhere`'s /file;  /to-file-scheme  302 to file:///etc/passwd
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';

export interface Seen { host: 'api' | 'elsewhere'; path: string; authorization: string | null; range: string | null }

export interface FakeFiles {
  api: string;
  elsewhere: string;
  seen: Seen[];
  close(): Promise<void>;
}

const ETAG = '"fake-1"';

export async function startFakeFiles(bytes: Buffer): Promise<FakeFiles> {
  const seen: Seen[] = [];
  const count = new Map<string, number>();
  // Stored, not compressed: the gzip stream is about as long as the file, as for a video, so a
  // Range at the decoded count lands inside it (past its end, a 416 would hide the mistake).
  const gzipped = zlib.gzipSync(bytes, { level: 0 });
  const servers: http.Server[] = [];
  const origins: string[] = [];
  const handler = (host: Seen['host']) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    seen.push({ host, path, authorization: req.headers.authorization ?? null, range: req.headers.range ?? null });
    const n = (count.get(`${host}${path}`) ?? 0) + 1;
    count.set(`${host}${path}`, n);
    const third = Math.floor(bytes.length / 3);
    const cut = (head: http.OutgoingHttpHeaders) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': bytes.length, ...head });
      res.write(bytes.subarray(0, third), () => res.destroy());
    };
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ranged = { 'accept-ranges': 'bytes', etag: ETAG };
    if (path === '/away') return res.writeHead(302, { location: `${origins[1]}/file?sig=x` }).end();
    if (path === '/to-file-scheme') return res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    if (path === '/stall') {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': bytes.length });
      return void res.write(bytes.subarray(0, 1000));
    }
    if (path === '/long-length') {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': bytes.length * 2 });
      return void res.write(bytes, () => res.destroy());
    }
    if (path.startsWith('/gzcut')) {
      const gz = { 'content-type': 'video/mp4', 'content-encoding': 'gzip', ...ranged };
      const start = range ? Number(range[1]) : 0;
      if (start >= gzipped.length) return void res.writeHead(416, { 'content-range': `bytes */${gzipped.length}` }).end();
      if (range) res.writeHead(206, { ...gz, 'content-range': `bytes ${start}-${gzipped.length - 1}/${gzipped.length}`, 'content-length': gzipped.length - start });
      else res.writeHead(200, { ...gz, 'content-length': gzipped.length });
      if (n === 1) return void res.write(gzipped.subarray(0, gzipped.length >> 1), () => res.destroy());
      return void res.end(gzipped.subarray(start));
    }
    if (path === '/cut-always' || (path.startsWith('/cut-norange') && n === 1)) return cut({});
    if ((path === '/cut-ranges' || path === '/bad-range') && !range) return cut(ranged);
    if (path === '/bad-range' && range) {
      res.writeHead(206, { ...ranged, 'content-range': `bytes 0-${bytes.length - 1}/${bytes.length}` });
      return void res.end(bytes);
    }
    if (range && req.headers['if-range'] === ETAG && !path.startsWith('/cut-norange')) {
      const start = Number(range[1]);
      res.writeHead(206, { ...ranged, 'content-type': 'video/mp4', 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`, 'content-length': bytes.length - start });
      return void res.end(bytes.subarray(start));
    }
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': bytes.length, ...(path.startsWith('/cut-norange') || path === '/plain' ? {} : ranged) });
    res.end(bytes);
  };
  for (const host of ['api', 'elsewhere'] as const) {
    const server = http.createServer(handler(host));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    origins.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  return {
    api: origins[0]!,
    elsewhere: origins[1]!,
    seen,
    close: async () => {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    },
  };
}
