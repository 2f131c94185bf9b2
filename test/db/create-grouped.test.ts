import { describe, expect, it } from 'vitest';
import { createAccount } from '../../src/accounts/accounts.js';
import { createWorkflow, getWorkflow } from '../../src/workflows/store.js';
import { timeOrderedId } from '../../src/util/ids.js';
import { freshDb, testDatabases } from '../helpers/db.js';

// On SQLite, creates started in the same turn of the event loop share one COMMIT, each in its own
// savepoint (src/db/sqlite-group.ts). Each must still behave as a transaction of its own: a create
// that fails leaves nothing behind and takes no other create with it. On PostgreSQL every create
// is its own transaction; the contract is the same.
describe.each(testDatabases())('creates started together on %s', (kind) => {
  it('all commit, and one that fails fails alone without leaving a row', async () => {
    const fresh = await freshDb(kind);
    try {
      const { account } = await createAccount(fresh.db, { name: 'together' }, null);
      const shots = (n: number) => Array.from({ length: n }, (_, i) => ({ prompt: `shot ${i}`, duration_s: 5 }));
      const results = await Promise.allSettled([
        createWorkflow(fresh.db, account.id, { name: 'first', shots: shots(1) }),
        createWorkflow(fresh.db, account.id, { name: 'second', shots: shots(3) }),
        // Duration 99 breaks the scenes' CHECK constraint after its workflow row went in.
        createWorkflow(fresh.db, account.id, { name: 'broken', shots: [{ prompt: 'a', duration_s: 5 }, { prompt: 'b', duration_s: 99 }] }),
        createWorkflow(fresh.db, account.id, { name: 'third', shots: shots(2) }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/check/i);
      const names = (await fresh.db('workflows').orderBy('name').pluck('name')).map(String);
      expect(names).toEqual(['first', 'second', 'third']);
      expect(Number((await fresh.db('workflow_scenes').count({ n: '*' }).first())!.n)).toBe(6);
      for (const [i, count] of [[0, 1], [1, 3], [3, 2]] as const) {
        const created = (results[i] as PromiseFulfilledResult<Awaited<ReturnType<typeof createWorkflow>>>).value;
        const read = await getWorkflow(fresh.db, account.id, created.workflow.id);
        expect({ workflow: read.workflow, scenes: read.scenes }).toEqual(created);
        expect(read.hasPublications).toBe(false);
        expect(read.scenes).toHaveLength(count);
      }
    } finally {
      await fresh.close();
    }
  });

  it('workflow ids sort in the order the workflows were created', async () => {
    const fresh = await freshDb(kind);
    try {
      const { account } = await createAccount(fresh.db, { name: 'ordered' }, null);
      const before = timeOrderedId('wf');
      const { workflow } = await createWorkflow(fresh.db, account.id, { name: 'w', shots: [{ prompt: 'a' }] });
      expect(workflow.id).toMatch(/^wf_[0-9a-v]{9}[\w-]{16}$/);
      expect(workflow.id.slice(0, 12) >= before.slice(0, 12)).toBe(true);
    } finally {
      await fresh.close();
    }
  });
});

it('time-ordered ids sort by their time, to the millisecond, for the next centuries', () => {
  const times = [0, 1, 1_700_000_000_000, 1_700_000_000_001, Date.parse('2100-01-01'), Date.parse('2999-12-31')];
  const ids = times.map((t) => timeOrderedId('wf', t));
  expect([...ids].sort()).toEqual(ids);
  expect(new Set(Array.from({ length: 1000 }, () => timeOrderedId('wf', 5))).size).toBe(1000);
});
