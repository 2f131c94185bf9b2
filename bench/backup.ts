/**
 * Online copy of a busy SQLite database: VACUUM INTO (what `lavendly backup` runs) against
 * better-sqlite3's backup API (prints figures; not a test).
 *
 *   npx tsx bench/backup.ts [--mb 100] [--cap-s 60]
 *
 * One WAL database of `mb` MiB (rows of 1 KiB with an index), and a writer on its own connection
 * in a worker thread that commits one row at a time for as long as each copy runs (as `serve`
 * does, from another connection). For each way of copying: wall time, whether it finished within
 * `cap-s`, how often the backup API started over (a write by another connection between two steps
 * sends it back to the first page), the writer's commits meanwhile and its slowest commit (what
 * the copy made writers wait: p50, p99, max), the WAL's size when the copy ended, and the copy's
 * size. Each way starts from the same database, and a round without a copy gives the baseline.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '100' }, 'cap-s': { type: 'string', default: '60' } } });
const mb = Number(values.mb);
const capMs = Number(values['cap-s']) * 1000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-bench-backup-'));
const base = path.join(dir, 'base.sqlite');
const source = path.join(dir, 'live.sqlite');

let db = new Database(base);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('create table rows (id integer primary key, tag text, body blob); create index rows_tag on rows (tag)');
const insert = db.prepare('insert into rows (tag, body) values (?, randomblob(1024))');
db.transaction((n: number) => { for (let i = 0; i < n; i++) insert.run(`t${i % 997}`); })(mb * 1024 * 0.9);
db.close();
console.log(`database: ${(fs.statSync(base).size / 2 ** 20).toFixed(1)} MiB, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}`);

const WRITER = `
const { parentPort, workerData } = require('node:worker_threads');
const db = new (require(workerData.driver))(workerData.source);
db.pragma('busy_timeout = 30000');
const insert = db.prepare("insert into rows (tag, body) values ('w', randomblob(1024))");
let stop = false, commits = 0;
const times = [];
parentPort.on('message', () => { stop = true; });
(function loop() {
  for (let i = 0; i < 20 && !stop; i++) {
    const t = process.hrtime.bigint();
    insert.run();
    commits++;
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  if (stop) { db.close(); times.sort((a, b) => a - b);
    const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0;
    parentPort.postMessage({ commits, p50: q(0.5), p99: q(0.99), worst: q(1) }); } else setImmediate(loop);
})();
`;

/** Each way copies the same database: a fresh copy of `base`, no WAL yet. */
async function withWriter(copy: () => Promise<{ restarts?: number; finished: boolean }>) {
  for (const f of [source, `${source}-wal`, `${source}-shm`]) fs.rmSync(f, { force: true });
  fs.copyFileSync(base, source);
  db = new Database(source);
  const worker = new Worker(WRITER, { eval: true, workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), source } });
  await new Promise((r) => setTimeout(r, 200));
  const t = performance.now();
  const result = await copy();
  const ms = performance.now() - t;
  const wal = fs.statSync(`${source}-wal`, { throwIfNoEntry: false })?.size ?? 0;
  const done = new Promise<{ commits: number; p50: number; p99: number; worst: number }>((r) => worker.once('message', r));
  worker.postMessage('stop');
  const writer = await done;
  await worker.terminate();
  db.close();
  return { ms, wal, writer, ...result };
}

function report(name: string, target: string, r: Awaited<ReturnType<typeof withWriter>>) {
  const size = fs.existsSync(target) ? `${(fs.statSync(target).size / 2 ** 20).toFixed(1)} MiB` : '-';
  console.log(`${name.padEnd(28)} ${r.finished ? 'finished' : 'gave up '} ${(r.ms / 1000).toFixed(2)} s  restarts ${r.restarts ?? '-'}  `
    + `writer: ${r.writer.commits} commits, p50 ${r.writer.p50.toFixed(2)} / p99 ${r.writer.p99.toFixed(1)} / max ${r.writer.worst.toFixed(1)} ms  WAL at end ${(r.wal / 2 ** 20).toFixed(1)} MiB  copy ${size}`);
  fs.rmSync(target, { force: true });
}

const idleTarget = path.join(dir, 'none.sqlite');
report('no copy (2 s, the baseline)', idleTarget, await withWriter(async () => {
  await new Promise((r) => setTimeout(r, 2000));
  return { finished: true };
}));

const vacuumTarget = path.join(dir, 'vacuum.sqlite');
report('VACUUM INTO', vacuumTarget, await withWriter(async () => {
  // Synchronous on this thread; the writer runs on its own.
  const reader = new Database(source);
  reader.prepare('VACUUM INTO ?').run(vacuumTarget);
  reader.close();
  return { finished: true };
}));

for (const [name, pages] of [['backup API, 100 pages/step', 100], ['backup API, all in one step', -1]] as const) {
  const target = path.join(dir, 'api.sqlite');
  report(name, target, await withWriter(async () => {
    const reader = new Database(source);
    let restarts = 0;
    let lastRemaining = Infinity;
    const t = performance.now();
    try {
      await reader.backup(target, {
        progress: ({ totalPages, remainingPages }) => {
          if (remainingPages > lastRemaining) restarts++;
          lastRemaining = remainingPages;
          if (performance.now() - t > capMs) throw new Error('cap');
          return pages === -1 ? totalPages : pages;
        },
      });
      return { restarts, finished: true };
    } catch {
      return { restarts, finished: false };
    } finally {
      reader.close();
    }
  }));
}
fs.rmSync(dir, { recursive: true, force: true });
