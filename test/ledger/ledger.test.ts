import { describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/knex.js';
import {
  commit, expireReservations, getBalance, getReservation, grant, listEntries,
  release, reserve, InsufficientCreditsError, ReservationNotOpenError, CommitExceedsReservationError,
  ReservationNotFoundError, checkInvariants,
} from '../../src/ledger/index.js';
import { testDatabases, type FreshDb } from '../helpers/db.js';
import { checkedDbPerTest } from '../helpers/checked-db.js';

async function account(db: Db, id: string): Promise<string> {
  await db('accounts').insert({ id, name: id, created_at: new Date().toISOString() });
  return id;
}

/** A second, independent handle on the same database (another connection/pool), as another
 *  process would have; on SQLite this is what makes transactions really contend. */
function secondHandle(f: FreshDb): Db {
  return createDb({ databaseUrl: f.databaseUrl, dataDir: f.dataDir, pgSchema: f.pgSchema });
}

type Outcome = 'won' | 'lost';
async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    await p;
    return 'won';
  } catch (err) {
    if (err instanceof ReservationNotOpenError) return 'lost';
    throw err;
  }
}

describe.each(testDatabases())('ledger on %s', (kind) => {
  let f: FreshDb;
  let db: Db;
  checkedDbPerTest(kind, {
    onFresh: (fresh) => {
      f = fresh;
      db = fresh.db;
    },
  });

  it('grants, reserves, commits part and releases the rest, with ordered entries', async () => {
    const acc = await account(db, 'acc_a');
    expect(await getBalance(db, acc)).toEqual({ balance: 0, reserved: 0, available: 0 });
    await grant(db, acc, 100, 'welcome');
    const r = await reserve(db, acc, 30, { reason: 'scene 1', metadata: { node_id: 'n1' } });
    expect(r.status).toBe('open');
    expect(r.metadata).toEqual({ node_id: 'n1' });
    expect(await getBalance(db, acc)).toEqual({ balance: 100, reserved: 30, available: 70 });

    const res = await commit(db, r.id, 20);
    expect(res).toMatchObject({ committed: 20, released: 10 });
    expect(res.reservation).toMatchObject({ status: 'committed', committed: 20 });
    expect(await getBalance(db, acc)).toEqual({ balance: 80, reserved: 0, available: 80 });

    const r2 = await reserve(db, acc, 50);
    await release(db, r2.id);
    expect((await getReservation(db, r2.id))?.status).toBe('released');
    expect(await getBalance(db, acc)).toEqual({ balance: 80, reserved: 0, available: 80 });

    const r3 = await reserve(db, acc, 5);
    expect((await commit(db, r3.id)).committed).toBe(5); // default: everything reserved
    const r4 = await reserve(db, acc, 5);
    expect(await commit(db, r4.id, 0)).toMatchObject({ committed: 0, released: 5 });

    const page = await listEntries(db, acc, { limit: 100 });
    expect(page.has_more).toBe(false);
    expect(page.data.map((e) => e.seq)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(page.data.map((e) => e.kind).reverse()).toEqual(
      ['grant', 'reserve', 'commit', 'release', 'reserve', 'release', 'reserve', 'commit', 'reserve', 'release'],
    );
    expect(page.data[0]).toMatchObject({ balance_after: 75, reserved_after: 0 });
  });

  it('pages entries with a keyset cursor and rejects a forged one', async () => {
    const acc = await account(db, 'acc_p');
    for (let i = 1; i <= 7; i++) await grant(db, acc, i);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await listEntries(db, acc, { limit: 3, cursor });
      seen.push(...page.data.map((e) => e.amount));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
    await expect(listEntries(db, acc, { cursor: 'nope' })).rejects.toMatchObject({ code: 'invalid_cursor' });
    const first = await listEntries(db, acc, { limit: 2 });
    // A cursor is bound to its account's list.
    await expect(listEntries(db, 'acc_other', { cursor: first.next_cursor })).rejects.toMatchObject({ code: 'invalid_cursor' });
    await expect(listEntries(db, acc, { limit: 101 })).rejects.toMatchObject({ code: 'validation_error' });
  });

  it('refuses a reserve it cannot cover with 402 needed/available, writing nothing', async () => {
    const acc = await account(db, 'acc_b');
    await grant(db, acc, 10);
    await reserve(db, acc, 4);
    const err = await reserve(db, acc, 7).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientCreditsError);
    expect(err).toMatchObject({ code: 'insufficient_credits', details: { needed: 7, available: 6 } });
    await expect(reserve(db, 'acc_nobody', 1)).rejects.toMatchObject({ details: { needed: 1, available: 0 } });
    expect((await listEntries(db, acc)).data).toHaveLength(2);
    await expect(reserve(db, acc, 0)).rejects.toMatchObject({ code: 'validation_error' });
    await expect(reserve(db, acc, 1.5)).rejects.toMatchObject({ code: 'validation_error' });
    await expect(grant(db, acc, -3)).rejects.toMatchObject({ code: 'validation_error' });
  });

  it('joins a caller transaction: a caught 402 leaves nothing behind, a rollback undoes the reserve', async () => {
    const acc = await account(db, 'acc_t');
    await grant(db, acc, 10);
    await db.transaction(async (trx) => {
      await expect(reserve(trx, acc, 11)).rejects.toBeInstanceOf(InsufficientCreditsError);
      await reserve(trx, acc, 3);
    });
    expect(await getBalance(db, acc)).toEqual({ balance: 10, reserved: 3, available: 7 });
    await expect(db.transaction(async (trx) => {
      await reserve(trx, acc, 7);
      throw new Error('caller changed its mind');
    })).rejects.toThrow('caller changed its mind');
    expect(await getBalance(db, acc)).toEqual({ balance: 10, reserved: 3, available: 7 });
  });

  it('resolves a reservation once: commit after commit, release after commit, over-commit, unknown', async () => {
    const acc = await account(db, 'acc_c');
    await grant(db, acc, 10);
    const r = await reserve(db, acc, 6);
    await expect(commit(db, r.id, 7)).rejects.toBeInstanceOf(CommitExceedsReservationError);
    await commit(db, r.id, 6);
    await expect(commit(db, r.id, 6)).rejects.toBeInstanceOf(ReservationNotOpenError);
    await expect(release(db, r.id)).rejects.toMatchObject({ code: 'conflict', details: { status: 'committed' } });
    await expect(commit(db, 'rsv_missing')).rejects.toBeInstanceOf(ReservationNotFoundError);
    expect(await getBalance(db, acc)).toEqual({ balance: 4, reserved: 0, available: 4 });
  });

  it('guards money in SQL: CHECK and UNIQUE constraints refuse bad writes', async () => {
    const acc = await account(db, 'acc_k');
    await grant(db, acc, 5);
    const r = await reserve(db, acc, 5);
    await expect(db('balances').where({ account_id: acc }).update({ reserved: 6 })).rejects.toThrow();
    await expect(db('balances').where({ account_id: acc }).update({ reserved: -1 })).rejects.toThrow();
    await expect(db('reservations').where({ id: r.id }).update({ committed: 9 })).rejects.toThrow();
    await expect(db('ledger_entries').insert({
      id: 'led_dup', account_id: acc, seq: 99, kind: 'reserve', amount: 5, reservation_id: r.id,
      balance_after: 5, reserved_after: 5, created_at: new Date().toISOString(),
    })).rejects.toThrow(); // a second reserve entry for one reservation
    await expect(db('ledger_entries').insert({
      id: 'led_zero', account_id: acc, seq: 100, kind: 'grant', amount: 0,
      balance_after: 5, reserved_after: 5, created_at: new Date().toISOString(),
    })).rejects.toThrow();
    await commit(db, r.id);
  });

  it('balance 10, 100 concurrent one-credit reservations from two connections: exactly 10 succeed', async () => {
    const acc = await account(db, 'acc_race');
    await grant(db, acc, 10);
    const other = secondHandle(f);
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 100 }, (_, i) => reserve(i % 2 ? other : db, acc, 1)),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected');
      expect(ok).toHaveLength(10);
      for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(InsufficientCreditsError);
      expect(await getBalance(db, acc)).toEqual({ balance: 10, reserved: 10, available: 0 });
    } finally {
      await other.destroy();
    }
  });

  it('concurrent commit/commit, commit/release, release/release on one reservation: exactly one wins', async () => {
    const acc = await account(db, 'acc_rr');
    await grant(db, acc, 1000);
    const other = secondHandle(f);
    try {
      const pairs = [
        ['commit', 'commit'], ['commit', 'release'], ['release', 'commit'], ['release', 'release'],
      ] as const;
      let charged = 0;
      for (let round = 0; round < 10; round++) {
        for (const [a, b] of pairs) {
          const r = await reserve(db, acc, 3);
          const run = (op: 'commit' | 'release', h: Db) => (op === 'commit' ? commit(h, r.id, 2) : release(h, r.id));
          // Three contenders (two on one handle, one on the other) for each reservation.
          const outcomes = await Promise.all([outcome(run(a, db)), outcome(run(b, other)), outcome(run(b, db))]);
          expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
          const final = await getReservation(db, r.id);
          if (final?.status === 'committed') charged += 2;
        }
      }
      expect(await getBalance(db, acc)).toEqual({ balance: 1000 - charged, reserved: 0, available: 1000 - charged });
    } finally {
      await other.destroy();
    }
  });

  it('releases expired reservations, once, and they can no longer be committed', async () => {
    const acc = await account(db, 'acc_e');
    await grant(db, acc, 10);
    const t0 = new Date('2030-01-01T00:00:00Z');
    const short = await reserve(db, acc, 4, { expiresInS: 60, now: t0 });
    const long = await reserve(db, acc, 3, { expiresInS: 3600, now: t0 });
    const forever = await reserve(db, acc, 1, { expiresInS: null, now: t0 });
    expect(await expireReservations(db, new Date(t0.getTime() + 59_000))).toBe(0);
    const later = new Date(t0.getTime() + 61_000);
    const other = secondHandle(f);
    try {
      const counts = await Promise.all([expireReservations(db, later), expireReservations(other, later)]);
      expect(counts[0]! + counts[1]!).toBe(1);
    } finally {
      await other.destroy();
    }
    expect((await getReservation(db, short.id))?.status).toBe('expired');
    await expect(commit(db, short.id)).rejects.toMatchObject({ details: { status: 'expired' } });
    expect(await getBalance(db, acc)).toEqual({ balance: 10, reserved: 4, available: 6 });
    expect(await expireReservations(db, new Date('2100-01-01T00:00:00Z'))).toBe(1);
    expect((await getReservation(db, long.id))?.status).toBe('expired');
    expect((await getReservation(db, forever.id))?.status).toBe('open');
    await release(db, forever.id);
  });

  it('the invariant check notices a tampered ledger', async () => {
    const acc = await account(db, 'acc_x');
    await grant(db, acc, 10);
    const r = await reserve(db, acc, 4);
    expect(await checkInvariants(db)).toEqual([]);
    // An entry nobody moved the balance for, and a reservation marked resolved without entries.
    await db('ledger_entries').insert({
      id: 'led_forged', account_id: acc, seq: 3, kind: 'grant', amount: 5,
      balance_after: 15, reserved_after: 4, created_at: new Date().toISOString(),
    });
    await db('reservations').where({ id: r.id }).update({ status: 'released', resolved_at: new Date().toISOString() });
    const problems = await checkInvariants(db);
    expect(problems.join('\n')).toMatch(/balance 10 != sum of entries 15/);
    expect(problems.join('\n')).toMatch(/released.*expected 0 \/ 4/);
    expect(problems.join('\n')).toMatch(/credits not conserved/);
    await db('ledger_entries').where({ id: 'led_forged' }).delete();
    await db('reservations').where({ id: r.id }).update({ status: 'open', resolved_at: null });
  });
});
