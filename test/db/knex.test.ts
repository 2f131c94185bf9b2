import { describe, expect, it } from 'vitest';
import { dbKind } from '../../src/db/knex.js';
import { freshDb, testDatabases } from '../helpers/db.js';

describe.each(testDatabases())('database on %s', (kind) => {
  it('migrates, and keeps every concurrent increment (no lost update)', async () => {
    const fresh = await freshDb(kind);
    try {
      expect(dbKind(fresh.db)).toBe(kind);
      await fresh.db('accounts').insert({ id: 'acc_1', name: 'counter:0', created_at: new Date().toISOString() });
      // 30 read-modify-write transactions at once: each must see the previous one's write.
      await Promise.all(Array.from({ length: 30 }, () => fresh.db.transaction(async (trx) => {
        const row = await trx('accounts').where({ id: 'acc_1' }).forUpdate().first();
        const n = Number(String(row.name).split(':')[1]);
        await trx('accounts').where({ id: 'acc_1' }).update({ name: `counter:${n + 1}` });
      })));
      const row = await fresh.db('accounts').where({ id: 'acc_1' }).first();
      expect(row.name).toBe('counter:30');
    } finally {
      await fresh.close();
    }
  });
});
