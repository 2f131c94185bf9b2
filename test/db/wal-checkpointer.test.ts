import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { createDb } from '../../src/db/knex.js';
import { startWalCheckpointer, type Checkpointer } from '../../src/db/wal-checkpointer.js';
import { freshDb, type FreshDb } from '../helpers/db.js';
import { childEnv, spawnCli } from '../publish-http/processes.js';

// SQLite only: the checkpoint thread of `serve` and `lavendly worker` (src/db/wal-checkpointer.ts), on a real file.
const ROW = 'x'.repeat(3500); // about a page per row: every commit appends at least one frame
const BURST = 50;
const BURSTS = 40;
const RESTART_PAGES = 100;

async function withTable(run: (fresh: FreshDb, file: string, pageSize: number) => Promise<void>): Promise<void> {
  const fresh = await freshDb('sqlite');
  try {
    await fresh.db.raw('create table wal_rows (id integer primary key, doc text not null)');
    const [{ page_size: pageSize }] = await fresh.db.raw('PRAGMA page_size');
    // An empty WAL to start from (the migrations left theirs), so its file size shows these writes alone.
    await fresh.db.raw('PRAGMA wal_checkpoint(TRUNCATE)');
    await run(fresh, path.join(fresh.dataDir, 'lavendly.sqlite'), pageSize);
  } finally {
    await fresh.close();
  }
}

/** Frames the WAL file holds room for: it is reused from its start after a restart, never shrunk. */
function walFrames(file: string, pageSize: number): number {
  const size = fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0;
  return Math.max(0, Math.round((size - 32) / (24 + pageSize)));
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Bursts of commits, each followed by two passes of the thread when there is one. */
async function writeInBursts(fresh: FreshDb, checkpointer: Checkpointer | null): Promise<void> {
  for (let b = 0; b < BURSTS; b++) {
    for (let i = 0; i < BURST; i++) await fresh.db('wal_rows').insert({ doc: ROW });
    if (checkpointer) {
      // Two, so that one pass started after the burst and its restart (if due) has been handled.
      const passes = checkpointer.stats().passes;
      await until(() => checkpointer.stats().passes >= passes + 2, 'two checkpoint passes');
    }
  }
}

it('every pass that finds the WAL past the restart mark restarts it, so it stays short under a steady write load', async () => {
  await withTable(async (fresh, file, pageSize) => {
    // SQLite's own backstop far away: every restart here is the thread's and the request connection's doing.
    const checkpointer = (await startWalCheckpointer(fresh.db, { intervalMs: 5, restartPages: RESTART_PAGES, boundPages: 1_000_000 }))!;
    try {
      await writeInBursts(fresh, checkpointer);
      // Restarted at the latest one burst after passing the mark: the file never had to hold more.
      expect(walFrames(file, pageSize)).toBeLessThanOrEqual(RESTART_PAGES + 2 * BURST);
      expect(checkpointer.stats().restarts).toBeGreaterThanOrEqual(BURSTS * BURST / (RESTART_PAGES + 2 * BURST) - 1);
      expect((await fresh.db('wal_rows').count({ n: '*' }))[0]!.n).toBe(BURSTS * BURST);
    } finally {
      await checkpointer.stop();
    }
    // Stopped: the request connection checkpoints by itself again, at SQLite's default.
    expect((await fresh.db.raw('PRAGMA wal_autocheckpoint'))[0].wal_autocheckpoint).toBe(1000);
  });
});

it('without the thread the same writes grow the WAL past that bound (what the test above tells apart)', async () => {
  await withTable(async (fresh, file, pageSize) => {
    await fresh.db.raw('PRAGMA wal_autocheckpoint = 1000000');
    await writeInBursts(fresh, null);
    expect(walFrames(file, pageSize)).toBeGreaterThan(BURSTS * BURST);
  });
});

it('the thread copies the WAL into the database file while the request connection never checkpoints', async () => {
  await withTable(async (fresh, file) => {
    const checkpointer = (await startWalCheckpointer(fresh.db, { intervalMs: 5, restartPages: 1_000_000, boundPages: 1_000_000 }))!;
    try {
      const before = fs.statSync(file).size;
      for (let i = 0; i < 300; i++) await fresh.db('wal_rows').insert({ doc: ROW });
      await until(() => fs.statSync(file).size >= before + 300 * ROW.length, 'the rows to reach the database file');
      expect(checkpointer.stats().restarts).toBe(0);
    } finally {
      await checkpointer.stop();
    }
  });
});

it('a `lavendly worker` process checkpoints the WAL in its thread while it sits idle', async () => {
  await withTable(async (fresh, file) => {
    // This connection never checkpoints, and an idle worker commits nothing: without the worker's
    // thread nobody would copy these rows into the database file.
    await fresh.db.raw('PRAGMA wal_autocheckpoint = 1000000');
    const worker = spawnCli(['worker'], childEnv(fresh));
    try {
      await worker.waitFor(/worker \S+ running/);
      const before = fs.statSync(file).size;
      for (let i = 0; i < 300; i++) await fresh.db('wal_rows').insert({ doc: ROW });
      await until(() => fs.statSync(file).size >= before + 300 * ROW.length, 'the rows to reach the database file');
      expect(await worker.stop()).toBe(0);
    } finally {
      await worker.kill9();
    }
  });
});

it('two processes on one file, each with its thread (serve and a worker), keep the WAL restarting', async () => {
  await withTable(async (fresh, file, pageSize) => {
    // A second handle on the same file stands in for the other process: its own connection, its own thread.
    const other = createDb({ databaseUrl: null, dataDir: fresh.dataDir });
    const options = { intervalMs: 5, restartPages: RESTART_PAGES, boundPages: 1_000_000 };
    const threads = [(await startWalCheckpointer(fresh.db, options))!, (await startWalCheckpointer(other, options))!];
    try {
      for (let b = 0; b < BURSTS; b++) {
        for (const db of [fresh.db, other]) for (let i = 0; i < BURST; i++) await db('wal_rows').insert({ doc: ROW });
        const passes = threads.map((t) => t.stats().passes);
        await until(() => threads.every((t, i) => t.stats().passes >= passes[i]! + 2), 'two passes of each thread');
      }
      // A pass that meets the other thread's does nothing (SQLite runs one checkpoint at a time),
      // so a restart can slip by a burst or two; but the WAL keeps starting over, far below the
      // 4,000 frames written (what it grows to without threads, test above).
      expect(walFrames(file, pageSize)).toBeLessThan(1000);
      expect(threads.reduce((n, t) => n + t.stats().restarts, 0)).toBeGreaterThan(0);
      expect((await other('wal_rows').count({ n: '*' }))[0]!.n).toBe(2 * BURSTS * BURST);
    } finally {
      for (const t of threads) await t.stop();
      await other.destroy();
    }
  });
});
