import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { freshDb } from '../helpers/db.js';
import { watchLoopGaps } from '../helpers/loop-gaps.js';

// better-sqlite3 is synchronous: waiting for a lock inside SQLite's busy handler would freeze the
// whole process. Another connection (as another process would) holds the write lock for 1.5 s;
// our writes wait for it without stalling the event loop, then succeed.
it('a write lock held elsewhere neither fails our writes nor blocks the event loop while they wait', async () => {
  const fresh = await freshDb('sqlite');
  const other = new Database(path.join(fresh.dataDir, 'lavendly.sqlite'));
  try {
    other.pragma('busy_timeout = 5000');
    other.exec('BEGIN IMMEDIATE');
    other.prepare("insert into accounts (id, name, created_at) values ('acc_other', 'other', ?)").run(new Date().toISOString());
    const release = setTimeout(() => other.exec('COMMIT'), 1500);

    const stopWatching = watchLoopGaps();
    const started = performance.now();
    await Promise.all([
      fresh.db('accounts').insert({ id: 'acc_a', name: 'a', created_at: new Date().toISOString() }),
      fresh.db.transaction((trx) => trx('accounts').insert({ id: 'acc_b', name: 'b', created_at: new Date().toISOString() })),
    ]);
    const waitedMs = performance.now() - started;
    const worstGapMs = stopWatching();
    clearTimeout(release);

    expect(waitedMs).toBeGreaterThan(1200); // it really waited for the other connection's commit
    // A synchronous busy wait would show one gap of ~1.5 s; retries block 5 ms at a time (the bound leaves room for a loaded machine).
    expect(worstGapMs).toBeLessThan(600);
    expect((await fresh.db('accounts').whereIn('id', ['acc_other', 'acc_a', 'acc_b'])).length).toBe(3);
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await fresh.close();
  }
});
