import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recentWorkflowPublications } from '../../src/publish/service.js';
import { createWorkflow, getWorkflow } from '../../src/workflows/store.js';
import { freshDb, type FreshDb } from '../helpers/db.js';

// Every get_workflow asks whether any publication names the workflow, and reads a published one's
// recent publications. Both must be found through the workflow's own index entries (migration
// 019), not by walking every publication of the account: a get must not slow down as the account
// publishes more.
describe('publications by workflow (SQLite query plans)', () => {
  let fresh: FreshDb;
  beforeAll(async () => {
    fresh = await freshDb('sqlite');
    await fresh.db('accounts').insert({ id: 'acc_pub', name: 'pub', created_at: new Date().toISOString() });
  });
  afterAll(async () => fresh.close());

  async function plansOf(run: () => Promise<unknown>): Promise<string[]> {
    const captured: { sql: string; bindings: unknown[] }[] = [];
    const listener = (q: { sql: string; bindings: unknown[] }) => captured.push(q);
    fresh.db.on('query', listener);
    try {
      await run();
    } finally {
      fresh.db.off('query', listener);
    }
    const withPublications = captured.filter((q) => q.sql.includes('"publications"'));
    expect(withPublications.length).toBeGreaterThan(0);
    return Promise.all(withPublications.map(async (q) => JSON.stringify(await fresh.db.raw(`EXPLAIN QUERY PLAN ${q.sql}`, q.bindings as never[]))));
  }

  it("get_workflow's published check and the recent publications use the workflow's index entries", async () => {
    const wf = await createWorkflow(fresh.db, 'acc_pub', { name: 'indexed', shots: [{ prompt: 'a fox', duration_s: 5 }] });
    const plans = [
      ...(await plansOf(() => getWorkflow(fresh.db, 'acc_pub', wf.workflow.id))),
      ...(await plansOf(() => recentWorkflowPublications(fresh.db, 'acc_pub', wf.workflow.id))),
    ];
    expect(plans).toHaveLength(2);
    for (const plan of plans) {
      expect(plan).toMatch(/USING (COVERING )?INDEX publications_by_workflow \(account_id=\? AND workflow_id=\?\)/);
    }
    // The recent ones come in index order, newest first: no sort.
    expect(plans[1]).not.toContain('TEMP B-TREE');
  });
});
