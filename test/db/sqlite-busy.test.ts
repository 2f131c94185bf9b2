import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import type { Db } from '../../src/db/knex.js';
import { run, sql, transaction } from '../../src/db/fast.js';
import { sqliteGroupWork } from '../../src/db/sqlite-group.js';
import { sqliteWork } from '../../src/db/sqlite-sync.js';
import { freshDb } from '../helpers/db.js';
import { watchLoopGaps } from '../helpers/loop-gaps.js';
import { restoreWallClock, stepWallClock } from '../helpers/wall-clock.js';

// Every way this code writes to SQLite waits for a write lock held by another connection (as
// another process would hold it) through the one backoff of src/db/sqlite-busy.ts: the write
// succeeds once the lock is free, and the event loop keeps running meanwhile.
const INSERT = sql('insert into "accounts" ("id", "name", "created_at") values (?, ?, ?)');
const now = () => new Date().toISOString();

const paths: Array<[string, (db: Db, id: string) => Promise<unknown>]> = [
  ['a knex query', (db, id) => db('accounts').insert({ id, name: id, created_at: now() })],
  ['a knex transaction', (db, id) => db.transaction((trx) => trx('accounts').insert({ id, name: id, created_at: now() }))],
  ['a fast.ts statement on the idle connection', (db, id) => run(db, INSERT, [id, id, now()])],
  ['a fast.ts transaction', (db, id) => transaction(db, (trx) => run(trx, INSERT, [id, id, now()]))],
  ['a synchronous transaction (sqliteWork)', (db, id) => sqliteWork(db, (q) => q.run(INSERT, [id, id, now()]))],
  ['a group of synchronous units (sqliteGroupWork)', (db, id) => Promise.all([1, 2, 3].map((n) =>
    sqliteGroupWork(db, (q) => q.run(INSERT, [`${id}_${n}`, id, now()]))))],
];

it.each(paths)('%s waits for a lock held elsewhere without blocking the event loop', async (_name, write) => {
  const fresh = await freshDb('sqlite');
  const other = new Database(path.join(fresh.dataDir, 'lavendly.sqlite'));
  try {
    other.exec('BEGIN IMMEDIATE');
    const release = setTimeout(() => other.exec('COMMIT'), 1500);
    const stopWatching = watchLoopGaps();
    const started = performance.now();
    await write(fresh.db, 'acc_w');
    const waitedMs = performance.now() - started;
    const worstGapMs = stopWatching();
    clearTimeout(release);

    expect(waitedMs).toBeGreaterThan(1200); // it really waited for the other connection's commit
    // A synchronous busy wait would show one gap of ~1.5 s; the retries block 5 ms at a time (the
    // bound leaves room for a loaded machine).
    expect(worstGapMs).toBeLessThan(1000);
    expect((await fresh.db('accounts').where('id', 'like', 'acc_w%')).length).toBeGreaterThan(0);
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await fresh.close();
  }
});

// The wait is bounded (BUSY_DEADLINE_MS) on the monotonic clock: the machine's clock stepping a
// minute forward while a write waited ended the wait at once, and the write failed with
// SQLITE_BUSY though the lock was freed a moment later.
it('a write waiting for the lock while the clock steps forward still waits for it', async () => {
  const fresh = await freshDb('sqlite');
  const other = new Database(path.join(fresh.dataDir, 'lavendly.sqlite'));
  try {
    other.exec('BEGIN IMMEDIATE');
    const step = setTimeout(() => stepWallClock(60_000), 200);
    const release = setTimeout(() => other.exec('COMMIT'), 600);
    await run(fresh.db, INSERT, ['acc_step', 'acc_step', now()]);
    clearTimeout(step);
    clearTimeout(release);
    expect(await fresh.db('accounts').where({ id: 'acc_step' }).first('id')).toEqual({ id: 'acc_step' });
  } finally {
    restoreWallClock();
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await fresh.close();
  }
});
