// Two `serve` processes starting together on an empty database each saw no account and each made
// a development account, printing two keys. Each handle below has its own connections, as a
// separate process would; the first-account check and insert must let exactly one through.
import { afterEach, describe, expect, it } from 'vitest';
import { createFirstAccount } from '../../src/accounts/accounts.js';
import { createDb, type Db } from '../../src/db/knex.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function otherHandles(fresh: FreshDb, count: number): Db[] {
  const dbs = Array.from({ length: count }, () => createDb({ databaseUrl: fresh.databaseUrl, dataDir: fresh.dataDir, pgSchema: fresh.pgSchema }));
  cleanups.push(async () => { await Promise.all(dbs.map((d) => d.destroy())); });
  return dbs;
}

describe.each(testDatabases())('the first account on %s', (kind) => {
  it('four processes starting at once on an empty database create one account between them', async () => {
    const fresh = await freshDb(kind);
    cleanups.push(() => fresh.close());
    const dbs = otherHandles(fresh, 4);
    await Promise.all(dbs.map((d) => d.raw('select 1'))); // connected, so the four start together
    const made = await Promise.all(dbs.map((d) => createFirstAccount(d, { name: 'Development' }, null)));
    expect(made.filter((m) => m !== null)).toHaveLength(1);
    expect(await fresh.db('accounts').count({ n: '*' }).first()).toEqual({ n: kind === 'postgres' ? '1' : 1 });
    expect(await fresh.db('api_keys').count({ n: '*' }).first()).toEqual({ n: kind === 'postgres' ? '1' : 1 });
  });

  it('makes none once any account exists', async () => {
    const fresh = await freshDb(kind);
    cleanups.push(() => fresh.close());
    expect(await createFirstAccount(fresh.db, { name: 'Development' }, null)).not.toBeNull();
    expect(await createFirstAccount(fresh.db, { name: 'Development' }, null)).toBeNull();
  });
});
