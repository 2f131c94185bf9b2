import { afterEach, describe, expect, it } from 'vitest';
import { arrayRows, first, rows, sql } from '../../src/db/fast.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';

// A statement text keeps the prepared statements of the SQLite connection it last ran on
// (src/db/fast.ts). Texts are module constants shared by every database a process opens, so a
// text must never answer from another connection's statement.
const NAME = sql('select "name" from "accounts" where "id" = ?');
const FLAGGED = sql('select ? as "flag", ? as "at"');

const opened: FreshDb[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.close()));
});

async function withAccount(kind: FreshDb['kind'], name: string): Promise<FreshDb> {
  const fresh = await freshDb(kind);
  opened.push(fresh);
  await fresh.db('accounts').insert({ id: 'acc_same', name, created_at: new Date().toISOString() });
  return fresh;
}

describe.each(testDatabases())('fast statements on %s', (kind) => {
  it('one text run on two databases in turn answers from each database', async () => {
    const a = await withAccount(kind, 'in a');
    const b = await withAccount(kind, 'in b');
    for (let i = 0; i < 3; i++) {
      expect(await first(a.db, NAME, ['acc_same'])).toEqual({ name: 'in a' });
      expect(await first(b.db, NAME, ['acc_same'])).toEqual({ name: 'in b' });
      // Both row shapes of one text, on both connections.
      expect(await arrayRows(a.db, NAME, ['acc_same'])).toEqual([['in a']]);
      expect(await arrayRows(b.db, NAME, ['acc_same'])).toEqual([['in b']]);
      expect(await rows(a.db, NAME, ['acc_same'])).toEqual([{ name: 'in a' }]);
    }
  });

  it('a database opened after another was closed gets its own statements', async () => {
    const a = await withAccount(kind, 'first');
    expect(await first(a.db, NAME, ['acc_same'])).toEqual({ name: 'first' });
    await opened.splice(opened.indexOf(a), 1)[0]!.close();
    const c = await withAccount(kind, 'after');
    expect(await first(c.db, NAME, ['acc_same'])).toEqual({ name: 'after' });
  });

  it.runIf(kind === 'sqlite')('binds booleans and dates as knex does on SQLite, and other values as given', async () => {
    const a = await withAccount(kind, 'x');
    const at = new Date('2026-01-02T03:04:05.000Z');
    expect(await first(a.db, FLAGGED, [true, at])).toEqual({ flag: 1, at: at.valueOf() });
    expect(await first(a.db, FLAGGED, ['text', null])).toEqual({ flag: 'text', at: null });
  });
});
