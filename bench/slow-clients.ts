/**
 * Slow-clients bench (prints figures; not a test).
 *
 *   npx tsx bench/slow-clients.ts [--idle 1000] [--slow 200] [--probes 50]
 *
 * Starts `lavendly serve` (its own process, SQLite in a temporary data dir, no worker), opens
 * `idle` connections that send nothing and `slow` connections that send request headers one line
 * every 100 ms and never finish them, then times `probes` GET /v1/_status requests on fresh
 * connections, one after another, against the 100 ms target; then reports how many held
 * connections the headers deadline (LAVENDLY_HEADERS_TIMEOUT_S, 10 s by default) closed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : fallback;
}
const IDLE = arg('idle', 1000);
const SLOW = arg('slow', 200);
const PROBES = arg('probes', 50);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-bench-slow-'));
const port = 20_000 + Math.floor(Math.random() * 20_000);
const server = spawn(process.execPath, ['bin/lavendly.mjs', 'serve'], {
  cwd: root, stdio: ['ignore', 'pipe', 'ignore'],
  env: { ...process.env, LAVENDLY_DATA_DIR: dataDir, PORT: String(port), LAVENDLY_SERVE_WORKER: '0', LAVENDLY_HEADERS_TIMEOUT_S: '10' },
});
let out = '';
server.stdout!.on('data', (d) => { out += d; });

function probe(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/v1/_status', agent: false }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`status ${res.statusCode}`))));
    }).on('error', reject);
  });
}

const held: { socket: net.Socket; closed: boolean }[] = [];
function open(): Promise<{ socket: net.Socket; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const t = { socket, closed: false };
    socket.on('close', () => { t.closed = true; });
    socket.on('error', () => {});
    socket.resume(); // read, so that the server's close is seen
    socket.once('connect', () => resolve(t));
    socket.once('error', reject);
  });
}

try {
  for (let i = 0; i < 600 && !out.includes('listening'); i++) await sleep(100);
  await probe(); // the first request of a process pays for compilation
  for (let i = 0; i < IDLE; i += 100) held.push(...(await Promise.all(Array.from({ length: Math.min(100, IDLE - i) }, open))));
  const slow: typeof held = [];
  for (let i = 0; i < SLOW; i += 100) slow.push(...(await Promise.all(Array.from({ length: Math.min(100, SLOW - i) }, open))));
  held.push(...slow);
  for (const t of slow) t.socket.write('GET /v1/_status HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  let n = 0;
  const drip = setInterval(() => { for (const t of slow) if (!t.closed) t.socket.write(`X-Drip-${n}: 1\r\n`); n++; }, 100);
  await sleep(300);
  const ms: number[] = [];
  for (let i = 0; i < PROBES; i++) ms.push(await probe());
  ms.sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(1);
  console.log(`${IDLE} idle + ${SLOW} slow-header connections held (load average ${os.loadavg()[0]!.toFixed(2)})`);
  console.log(`GET /v1/_status x${PROBES}: p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(1)} ms (target: within 100 ms)`);
  const t0 = Date.now();
  while (held.some((t) => !t.closed) && Date.now() - t0 < 15_000) await sleep(100);
  clearInterval(drip);
  console.log(`held connections closed by the headers deadline: ${held.filter((t) => t.closed).length} of ${held.length} after ${((Date.now() - t0) / 1000).toFixed(1)} s more`);
} finally {
  for (const t of held) t.socket.destroy();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  fs.rmSync(dataDir, { recursive: true, force: true });
}
