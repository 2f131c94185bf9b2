import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/errors.js';
import { decodeCursor, encodeCursor, paginate } from '../../src/db/pagination.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';

const secret = 'pagination-test-secret';

describe.each(testDatabases())('keyset pagination on %s', (kind) => {
  let fresh: FreshDb;
  let seq = 0;
  // Many rows share one timestamp, so the id tiebreak is exercised.
  const stamp = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, Math.floor(i / 3))).toISOString();
  const insert = async (account: string, n: number) => {
    const rows = Array.from({ length: n }, () => {
      const i = seq++;
      return { id: `item_${String(i).padStart(6, '0')}`, account_id: account, created_at: stamp(i) };
    });
    await fresh.db('page_items').insert(rows);
    return rows.map((r) => r.id);
  };

  beforeAll(async () => {
    fresh = await freshDb(kind);
    await fresh.db.schema.createTable('page_items', (t) => {
      t.string('id').primary();
      t.string('account_id').notNullable();
      t.string('created_at').notNullable();
      t.index(['account_id', 'created_at', 'id']);
    });
  });
  afterAll(async () => { await fresh.close(); });

  const page = (account: string, cursor: string | null, limit = 7) =>
    paginate(fresh.db('page_items').where({ account_id: account }), { limit, cursor, secret, scope: `items:${account}` });

  it('walks 250 rows at 7 a page with rows inserted between pages: no duplicates, none missed', async () => {
    const original = new Set(await insert('acc_a', 250));
    await insert('acc_b', 40);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p: Awaited<ReturnType<typeof page>> = await page('acc_a', cursor);
      expect(p.data.length).toBeLessThanOrEqual(7);
      seen.push(...p.data.map((r) => String(r.id)));
      expect(p.has_more).toBe(p.next_cursor !== null);
      cursor = p.next_cursor;
      pages++;
      await insert('acc_a', 3); // newer rows land before the cursor: never seen, never shifting
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of original) expect(seen).toContain(id);
    expect(pages).toBe(Math.ceil(250 / 7));
    // Order: newest first, strictly decreasing (created_at, id).
    const rows = await fresh.db('page_items').whereIn('id', seen).select('id', 'created_at');
    const byId = new Map(rows.map((r) => [r.id, r.created_at]));
    for (let i = 1; i < seen.length; i++) {
      const a = [byId.get(seen[i - 1]!), seen[i - 1]!].join('|');
      const b = [byId.get(seen[i]!), seen[i]!].join('|');
      expect(a > b).toBe(true);
    }
  });

  it('rejects tampered cursors, cursors from another list, and bad limits', async () => {
    const p = await page('acc_a', null, 5);
    const cursor = p.next_cursor!;
    const [payload, mac] = cursor.split('.');
    const forged = Buffer.from(JSON.stringify(['2099-01-01T00:00:00.000Z', 'item_999999'])).toString('base64url');
    for (const bad of [`${forged}.${mac}`, `${payload}.${mac!.slice(0, -1)}A`, 'garbage', '', `${payload}`, '.'.repeat(5), 'é.é']) {
      if (bad === '') continue;
      await expect(page('acc_a', bad)).rejects.toMatchObject({ code: 'invalid_cursor' });
    }
    await expect(page('acc_b', cursor)).rejects.toBeInstanceOf(DomainError);
    for (const limit of [0, 101, 1.5, -1]) {
      await expect(page('acc_a', null, limit)).rejects.toMatchObject({ code: 'validation_error' });
    }
    expect((await page('acc_a', null, 100)).data).toHaveLength(100);
    expect((await page('acc_a', null, 1)).data).toHaveLength(1);
  });

  it('round-trips cursor values', () => {
    const c = encodeCursor(['2026-01-01T00:00:00.000Z', 'wf_x'], secret, 's');
    expect(decodeCursor(c, secret, 's', 2)).toEqual(['2026-01-01T00:00:00.000Z', 'wf_x']);
    expect(() => decodeCursor(c, 'other-secret', 's', 2)).toThrow(DomainError);
  });

  it.runIf(kind === 'sqlite')('is index-driven: no sort step, a range scan of the index', async () => {
    const first = await page('acc_a', null, 7);
    const captured: { sql: string; bindings: unknown[] }[] = [];
    const listener = (q: { sql: string; bindings: unknown[] }) => captured.push(q);
    fresh.db.on('query', listener);
    await page('acc_a', first.next_cursor);
    fresh.db.off('query', listener);
    const q = captured.find((c) => c.sql.includes('page_items'))!;
    const plan = await fresh.db.raw(`EXPLAIN QUERY PLAN ${q.sql}`, q.bindings as any[]);
    const text = JSON.stringify(plan);
    expect(text).toMatch(/USING (COVERING )?INDEX \w+ \(account_id=\? AND created_at<\?\)/);
    expect(text).not.toContain('TEMP B-TREE');
  });
});
