import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { createAccount } from '../../src/accounts/accounts.js';
import { createWorkflow, getWorkflow } from '../../src/workflows/store.js';
import { freshDb } from '../helpers/db.js';
import { watchLoopGaps } from '../helpers/loop-gaps.js';

// createWorkflow runs its INSERTs and COMMIT at once on the idle SQLite connection. When another
// connection (as another process would) holds the write lock, it must neither fail nor freeze the
// event loop: it waits for the lock with the asynchronous backoff, then commits everything.
it('a workflow created while another connection holds the write lock waits for it, without blocking the event loop', async () => {
  const fresh = await freshDb('sqlite');
  const other = new Database(path.join(fresh.dataDir, 'lavendly.sqlite'));
  try {
    const { account } = await createAccount(fresh.db, { name: 'lock' }, null);
    other.pragma('busy_timeout = 5000');
    other.exec('BEGIN IMMEDIATE');
    const release = setTimeout(() => other.exec('COMMIT'), 2000);
    const stopWatching = watchLoopGaps();
    const started = performance.now();
    const created = await createWorkflow(fresh.db, account.id, { name: 'waits', shots: [{ prompt: 'a', duration_s: 5 }, { prompt: 'b', duration_s: 5 }] });
    const waitedMs = performance.now() - started;
    const worstGapMs = stopWatching();
    clearTimeout(release);
    expect(waitedMs).toBeGreaterThan(1500); // it really waited for the other connection's commit
    expect(worstGapMs).toBeLessThan(1500); // a synchronous busy wait would show one gap of ~2 s (the bound leaves room for a loaded machine)
    const read = await getWorkflow(fresh.db, account.id, created.workflow.id);
    expect(read.scenes.map((s) => s.prompt)).toEqual(['a', 'b']);
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await fresh.close();
  }
});

it('a failed create leaves neither the workflow nor any scene behind', async () => {
  const fresh = await freshDb('sqlite');
  try {
    const { account } = await createAccount(fresh.db, { name: 'rollback' }, null);
    // Duration 99 breaks the scenes' CHECK constraint after the workflow row went in.
    await expect(createWorkflow(fresh.db, account.id, { name: 'bad', shots: [{ prompt: 'a', duration_s: 99 }] })).rejects.toThrow(/CHECK/i);
    expect(await fresh.db('workflows').count({ n: '*' }).first()).toEqual({ n: 0 });
    expect(await fresh.db('workflow_scenes').count({ n: '*' }).first()).toEqual({ n: 0 });
    // The connection is usable again (no transaction left open on it).
    await createWorkflow(fresh.db, account.id, { name: 'good', shots: [{ prompt: 'a', duration_s: 5 }] });
    expect(await fresh.db('workflows').count({ n: '*' }).first()).toEqual({ n: 1 });
  } finally {
    await fresh.close();
  }
});
