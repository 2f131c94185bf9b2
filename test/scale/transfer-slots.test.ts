// The cap on an account's transfers at once holds across processes: two budgets on two
// connection pools of one database (as two API processes have) share the count.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/accounts/accounts.js';
import { TransferBudget } from '../../src/assets/index.js';
import { claimTransferSlot } from '../../src/assets/transfer-slots.js';
import { createDb, type Db } from '../../src/db/knex.js';
import { TooManyRequestsError } from '../../src/errors.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { restoreWallClock, stepWallClock } from '../helpers/wall-clock.js';

const usage = { usedBytes: 0, quotaBytes: 1e9, remainingBytes: 1e9 };

describe.each(testDatabases())('transfers at once, shared (%s)', (kind) => {
  let fresh: FreshDb;
  let other: Db;
  beforeAll(async () => {
    fresh = await freshDb(kind);
    other = createDb({ databaseUrl: fresh.databaseUrl, dataDir: fresh.dataDir, pgSchema: fresh.pgSchema });
  });
  afterAll(async () => {
    await other.destroy();
    await fresh.close();
  });
  const account = async () => (await createAccount(fresh.db, { name: 'uploader' }, null)).account.id;

  it('slots taken in one process count in the other; a closed one is free again', async () => {
    const id = await account();
    const here = new TransferBudget(2, fresh.db);
    const there = new TransferBudget(2, other);
    const first = await here.open(id, usage);
    const second = await here.open(id, usage);
    await expect(there.open(id, usage)).rejects.toBeInstanceOf(TooManyRequestsError);
    await first.close();
    const third = await there.open(id, usage);
    await expect(here.open(id, usage)).rejects.toBeInstanceOf(TooManyRequestsError);
    // Another account has slots of its own.
    await (await there.open(await account(), usage)).close();
    await Promise.all([second.close(), third.close()]);
    expect(Number((await fresh.db('transfer_slots').count({ n: '*' }).first())!.n)).toBe(0);
  });

  it('concurrent opens from both pools never exceed the cap', async () => {
    const id = await account();
    const budgets = [new TransferBudget(3, fresh.db), new TransferBudget(3, other)];
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => budgets[i % 2]!.open(id, usage)));
    const opened = results.filter((r) => r.status === 'fulfilled');
    expect(opened).toHaveLength(3);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(TooManyRequestsError);
    await Promise.all(opened.map((r) => (r as PromiseFulfilledResult<{ close(): Promise<void> }>).value.close()));
  });

  // The clock every process shares steps two minutes forward while a transfer runs: its slot
  // looks expired and the next claim deletes it. Its renewal used to find nothing to renew, and
  // the transfer counted for nothing until it ended: the account ran one more than its cap.
  it('a live slot deleted as expired after a forward clock step counts again from its next renewal', async () => {
    const id = await account();
    const live = await claimTransferSlot(fresh.db, id, 2, 400); // renewed every 100 ms
    try {
      stepWallClock(120_000);
      const second = await claimTransferSlot(other, id, 2, 400);
      expect(second).not.toBeNull();
      await new Promise((r) => setTimeout(r, 400));
      expect(await claimTransferSlot(other, id, 2, 400)).toBeNull();
      await Promise.all([live!.release(), second!.release()]);
      expect(await fresh.db('transfer_slots').where({ account_id: id }).first()).toBeUndefined();
    } finally {
      restoreWallClock();
    }
  });

  it('the slot of a process that died stops counting when its lease runs out', async () => {
    const id = await account();
    // What a killed process leaves: a slot nobody renews, past its expiry.
    await fresh.db('transfer_slots').insert({ id: 'xfr_dead', account_id: id, expires_ms: Date.now() - 1 });
    const budget = new TransferBudget(1, other);
    const t = await budget.open(id, usage);
    expect(await fresh.db('transfer_slots').where({ id: 'xfr_dead' }).first()).toBeUndefined();
    await t.close();
  });
});
