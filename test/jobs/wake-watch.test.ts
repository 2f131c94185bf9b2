import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { enqueue } from '../../src/jobs/index.js';
import { watchForCommits, type JobListener } from '../../src/jobs/wake.js';
import { freshDb, type FreshDb } from '../helpers/db.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!fn()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Another process commits one row to the SQLite file and exits. */
function commitFromAnotherProcess(file: string, id: string): Promise<void> {
  const code = `const D = require('better-sqlite3'); const d = new D(process.argv[1]); d.pragma('busy_timeout = 5000');
    const now = new Date().toISOString();
    d.prepare("insert into jobs (id, type, payload, status, attempts, max_attempts, run_at, created_at, updated_at) values (?, 'x', 'null', 'queued', 0, 5, ?, ?, ?)").run(process.argv[2], now, now, now);
    d.close();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code, file, id], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += String(d); });
    child.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`committing process exited ${c}: ${err}`))));
  });
}

describe('SQLite commit watch (the idle worker\'s cross-process wake)', () => {
  let f: FreshDb | undefined;
  let watch: JobListener | undefined;
  afterEach(async () => {
    await watch?.close();
    await f?.close();
    watch = undefined;
    f = undefined;
  });

  it('is told of another process\'s commits by the -wal file changing, with no timed check to fall back on', async () => {
    f = await freshDb('sqlite');
    let seen = 0;
    // Timed checks ten minutes apart: within this test only the file notification can call back.
    watch = watchForCommits(f.db, () => { seen++; }, { everyMs: 600_000, watchedEveryMs: 600_000 });
    const file = path.join(f.dataDir, 'lavendly.sqlite');
    await commitFromAnotherProcess(file, 'job_a');
    await until('the first commit to be noticed', () => seen >= 1);
    const afterFirst = seen;
    // Our own commits write the -wal file too, but do not count as another connection's commit.
    for (let i = 0; i < 5; i++) await enqueue(f.db, { type: 'mine', payload: i });
    await commitFromAnotherProcess(file, 'job_b');
    await until('the second commit to be noticed', () => seen > afterFirst);
    expect(seen).toBeLessThanOrEqual(afterFirst + 1);
    expect((await f.db('jobs').whereIn('id', ['job_a', 'job_b'])).length).toBe(2);
  });

  it('keeps watching after the -wal file is removed and made again', async () => {
    f = await freshDb('sqlite');
    const file = path.join(f.dataDir, 'lavendly.sqlite');
    // Close every connection (the last one checkpoints and removes the -wal file), then open again.
    await f.db.destroy();
    const { createDb } = await import('../../src/db/knex.js');
    const db = createDb({ databaseUrl: null, dataDir: f.dataDir });
    f = { ...f, db, close: async () => { await db.destroy(); } };
    await db.raw('select 1'); // the pool's connection is open, as a worker's is once it has polled
    let seen = 0;
    watch = watchForCommits(db, () => { seen++; }, { everyMs: 600_000, watchedEveryMs: 600_000 });
    await commitFromAnotherProcess(file, 'job_c');
    await until('the commit to be noticed', () => seen >= 1);
  });
});
