import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TestServer {
  port: number;
  host: string;
  /** `http://host:port` */
  origin: string;
  /** TCP connections accepted so far. */
  connections: number;
  /** Request paths seen so far. */
  requests: string[];
  close(): Promise<void>;
}

/** A real HTTP server on a loopback address (default 127.0.0.1, random port). */
export async function startServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  options: { host?: string; port?: number } = {},
): Promise<TestServer> {
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    state.requests.push(req.url ?? '');
    handler(req, res);
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    state.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const state: TestServer = {
    port,
    host,
    origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    connections: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return state;
}

/** A raw TCP server answering every connection with `respond(socket)` (for malformed HTTP). */
export async function startRawServer(respond: (socket: net.Socket) => void): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', () => respond(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  const state: TestServer = {
    port,
    host: '127.0.0.1',
    origin: `http://127.0.0.1:${port}`,
    connections: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return state;
}

export function tempDir(prefix = 'lavendly-net-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Every file under `dir`, dot files (temporaries) included. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath ?? (d as unknown as { path: string }).path, d.name));
}
