import { describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/knex.js';
import { sql } from '../../src/db/fast.js';
import { MAX_GROUP, sqliteGroupWork } from '../../src/db/sqlite-group.js';
import {
  assertInvariants, commit, getBalance, grant, listEntries, release, reserve,
  CommitExceedsReservationError, InsufficientCreditsError, ReservationNotFoundError,
} from '../../src/ledger/index.js';
import { grantOnSqlite } from '../../src/ledger/moves.js';
import { testDatabases, type FreshDb } from '../helpers/db.js';
import { checkedDbPerTest } from '../helpers/checked-db.js';

/**
 * Group commit (src/db/sqlite-group.ts): ledger moves started in one turn of the event loop share
 * one SQLite transaction, each in its own savepoint. On PostgreSQL every move is its own statement
 * (nothing is grouped); the ledger-level tests run there too, as the contract is the same.
 */

async function account(db: Db, id: string): Promise<string> {
  await db('accounts').insert({ id, name: id, created_at: new Date().toISOString() });
  return id;
}

const errorName = (r: PromiseSettledResult<unknown>) => (r.status === 'rejected' ? (r.reason as Error).constructor.name : 'ok');

describe.each(testDatabases())('ledger moves started together on %s', (kind) => {
  let f: FreshDb;
  let db: Db;
  checkedDbPerTest(kind, { onFresh: (fresh) => { f = fresh; db = fresh.db; } });

  it('a move that fails among others fails alone: the rest are committed', async () => {
    const acc = await account(db, 'acc_mix');
    await grant(db, acc, 10);
    const held = await reserve(db, acc, 4);
    // All started in one turn: on SQLite they run in one transaction.
    const results = await Promise.allSettled([
      reserve(db, acc, 3),
      reserve(db, acc, 50), // cannot be covered
      commit(db, held.id, 9), // more than it holds
      commit(db, 'rsv_missing'),
      grant(db, acc, 5),
      reserve(db, acc, 2),
    ]);
    expect(results.map(errorName)).toEqual([
      'ok', InsufficientCreditsError.name, CommitExceedsReservationError.name, ReservationNotFoundError.name, 'ok', 'ok',
    ]);
    expect(await getBalance(db, acc)).toEqual({ balance: 15, reserved: 9, available: 6 });
    await commit(db, held.id, 4);
    for (const i of [0, 5]) await release(db, (results[i] as PromiseFulfilledResult<{ id: string }>).value.id);
    expect(await getBalance(db, acc)).toEqual({ balance: 11, reserved: 0, available: 11 });
  });

  it('a burst of moves from two handles all settle, exactly as many as the credits cover', async () => {
    const accs = await Promise.all(['acc_b0', 'acc_b1', 'acc_b2'].map((id) => account(db, id)));
    for (const acc of accs) await grant(db, acc, 40);
    const other = createDb({ databaseUrl: f.databaseUrl, dataDir: f.dataDir, pgSchema: f.pgSchema });
    try {
      // 3 x 60 one-credit reserves on 40 credits each, more than one group's worth per handle;
      // every won reserve is then committed or released, again all at once.
      const reserves = await Promise.allSettled(Array.from({ length: 180 }, (_, i) => reserve(i % 2 ? other : db, accs[i % 3]!, 1)));
      expect(reserves.length).toBeGreaterThan(2 * MAX_GROUP);
      const won = reserves.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(won).toHaveLength(120);
      for (const r of reserves) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(InsufficientCreditsError);
      const resolutions = await Promise.allSettled(won.map((r, i) => (i % 2 ? commit(i % 3 ? db : other, r.id) : release(db, r.id))));
      expect(resolutions.filter((r) => r.status === 'rejected')).toEqual([]);
      await assertInvariants(db);
      const balances = await Promise.all(accs.map((acc) => getBalance(db, acc)));
      expect(balances.reduce((n, b) => n + b.balance, 0)).toBe(120 - 60);
      expect(balances.every((b) => b.reserved === 0)).toBe(true);
    } finally {
      await other.destroy();
    }
  });

  it('every move started together gets its own sequence number, in the order they started', async () => {
    const acc = await account(db, 'acc_seq');
    await Promise.all(Array.from({ length: 10 }, (_, i) => grant(db, acc, i + 1, `g${i + 1}`)));
    const page = await listEntries(db, acc, { limit: 10 });
    expect(page.data.map((e) => e.seq)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    if (kind === 'sqlite') expect(page.data.map((e) => e.amount)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(await getBalance(db, acc)).toMatchObject({ balance: 55 });
  });
});

describe.runIf(testDatabases().includes('sqlite'))('group commit on sqlite', () => {
  let db: Db;
  checkedDbPerTest('sqlite', { onFresh: (fresh) => { db = fresh.db; } });

  /** The transactions and savepoints the ledger's own statements ran in, from knex's query events. */
  function watchStatements(): { texts: string[]; stop(): void } {
    const texts: string[] = [];
    const listener = (q: { sql: string }) => texts.push(q.sql);
    db.on('query', listener);
    return { texts, stop: () => db.off('query', listener) };
  }

  it('moves started in one turn share one transaction, each in a savepoint', async () => {
    const acc = await account(db, 'acc_g');
    await grant(db, acc, 100);
    const watch = watchStatements();
    try {
      await Promise.all(Array.from({ length: 8 }, () => reserve(db, acc, 1)));
    } finally {
      watch.stop();
    }
    expect(watch.texts.filter((t) => t === 'BEGIN IMMEDIATE')).toHaveLength(1);
    expect(watch.texts.filter((t) => t === 'COMMIT')).toHaveLength(1);
    expect(watch.texts.filter((t) => t.startsWith('SAVEPOINT'))).toHaveLength(8);
  });

  it('moves started while this process holds the connection wait for it, then commit as one group', async () => {
    const acc = await account(db, 'acc_held');
    await grant(db, acc, 100);
    const watch = watchStatements();
    let moves: Promise<unknown>[] = [];
    try {
      await db.transaction(async (trx) => {
        await trx('accounts').where({ id: acc }).first();
        // Not in the transaction: these queue for the connection the transaction holds.
        moves = Array.from({ length: 5 }, () => reserve(db, acc, 2));
        await new Promise((resolve) => setImmediate(resolve));
        expect(watch.texts.filter((t) => t === 'BEGIN IMMEDIATE')).toHaveLength(0);
      });
      await Promise.all(moves);
    } finally {
      watch.stop();
    }
    expect(watch.texts.filter((t) => t === 'BEGIN IMMEDIATE')).toHaveLength(1);
    expect(watch.texts.filter((t) => t.startsWith('SAVEPOINT'))).toHaveLength(5);
    expect(await getBalance(db, acc)).toEqual({ balance: 100, reserved: 10, available: 90 });
    await Promise.all((await Promise.all(moves) as Array<{ id: string }>).map((r) => release(db, r.id)));
  });

  it('a unit whose statement fails after it wrote is undone alone', async () => {
    const acc = await account(db, 'acc_sp');
    const now = new Date().toISOString();
    const duplicateEntry = sql('insert into "ledger_entries" ("id", "account_id", "seq", "kind", "amount", "balance_after", "reserved_after", "created_at")'
      + ' select "id", "account_id", "seq", "kind", "amount", "balance_after", "reserved_after", "created_at" from "ledger_entries" where "account_id" = ? limit 1');
    const results = await Promise.allSettled([
      sqliteGroupWork(db, (q) => grantOnSqlite(q, { entryId: 'led_one', accountId: acc, amount: 1, reason: null, now })),
      // Grants 100, then breaks a UNIQUE constraint: its grant must vanish with it.
      sqliteGroupWork(db, (q) => {
        grantOnSqlite(q, { entryId: 'led_bad', accountId: acc, amount: 100, reason: null, now });
        q.run(duplicateEntry, [acc]);
      }),
      sqliteGroupWork(db, (q) => grantOnSqlite(q, { entryId: 'led_two', accountId: acc, amount: 2, reason: null, now })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE constraint failed/);
    expect(await getBalance(db, acc)).toEqual({ balance: 3, reserved: 0, available: 3 });
    expect((await db('ledger_entries').where({ account_id: acc }).orderBy('seq')).map((e) => [e.id, Number(e.seq)]))
      .toEqual([['led_one', 1], ['led_two', 2]]);
  });

  it('a COMMIT that fails rejects every move of the group and keeps none of them', async () => {
    const acc = await account(db, 'acc_cf');
    await grant(db, acc, 10);
    const held = await reserve(db, acc, 5);
    // A deferred foreign key is checked only at COMMIT: the one way to make a COMMIT itself fail here.
    await db.raw('create table "deferred_child" ("id" integer primary key, "parent" varchar(255) references "accounts" ("id") deferrable initially deferred)');
    const results = await Promise.allSettled([
      reserve(db, acc, 2),
      commit(db, held.id),
      grant(db, acc, 7),
      sqliteGroupWork(db, (q) => q.run(sql('insert into "deferred_child" ("parent") values (?)'), ['acc_nobody'])),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    for (const r of results) expect(String((r as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY constraint failed/);
    expect(await getBalance(db, acc)).toEqual({ balance: 10, reserved: 5, available: 5 });
    expect(await db('deferred_child').count({ n: '*' })).toEqual([{ n: 0 }]);
    expect((await listEntries(db, acc)).data).toHaveLength(2);
    // The connection is usable again, and the next group commits.
    await commit(db, held.id);
    expect(await getBalance(db, acc)).toEqual({ balance: 5, reserved: 0, available: 5 });
  });
});
