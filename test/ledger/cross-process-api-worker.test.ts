import { describe, expect, it } from 'vitest';
import { commit, getBalance, grant, release, reserve } from '../../src/ledger/index.js';
import { testDatabases } from '../helpers/db.js';
import { STEP_MS, apiAt, drained, jobResults, overlap, raceEnv, statuses, type Op } from '../helpers/job-ledger-race.js';

/** The API (this process) and a job worker (a child process) contend for one account's credits. */
describe.each(testDatabases())('ledger contended by the API and a worker process on %s', (kind) => {
  const env = raceEnv(kind);

  it('balance 10, 100 one-credit reserves split between the processes -> exactly 10; one resolution per reservation', async () => {
    const { db, account } = env;
    const worker = env.spawn('worker', 4);
    await worker.ready;
    await grant(db, account, 10);

    // 50 rounds: in each, one reserve in the worker process and one here, at the same moment.
    let T = Date.now() + 600;
    const jobIds = await env.ledgerJobs(Array.from({ length: 50 }, (_, i) => ({ op: 'reserve', accountId: account, amount: 1, at: T + i * STEP_MS })));
    const api = await Promise.all(Array.from({ length: 50 }, (_, i) => apiAt(T + i * STEP_MS, () => reserve(db, account, 1))));
    await drained(db);
    const jobs = await jobResults(db, jobIds);
    expect(api.filter((r) => r.won).length + jobs.filter((r) => r.won).length).toBe(10);
    expect(await getBalance(db, account)).toEqual({ balance: 10, reserved: 10, available: 0 });
    const reserveOverlaps = api.filter((a, i) => overlap(a, jobs[i]!)).length;

    // Then 24 reservations, each raced by the worker and this process with
    // commit/commit, commit/release, release/commit or release/release.
    for (const id of await db('reservations').where({ status: 'open' }).pluck('id')) await release(db, id);
    await grant(db, account, 300);
    const rs = await env.reservations(24, 5);
    const pairs: Array<[Op, Op]> = [['commit', 'commit'], ['commit', 'release'], ['release', 'commit'], ['release', 'release']];
    T = Date.now() + 600;
    const at = (i: number) => T + i * STEP_MS;
    const resolveIds = await env.ledgerJobs(rs.map((r, i) => {
      const op = pairs[i % 4]![0];
      return { op, reservationId: r.id, amount: op === 'commit' ? 3 : undefined, at: at(i) };
    }));
    const apiRes = await Promise.all(rs.map((r, i) => {
      const op = pairs[i % 4]![1];
      return apiAt(at(i), () => (op === 'commit' ? commit(db, r.id, 3) : release(db, r.id)));
    }));
    await drained(db);
    const jobRes = await jobResults(db, resolveIds);
    const final = await statuses(db, rs);
    let charged = 0;
    for (let i = 0; i < rs.length; i++) {
      expect(Number(apiRes[i]!.won) + Number(jobRes[i]!.won), `reservation ${i} (${pairs[i % 4]!.join('/')})`).toBe(1);
      expect(final[i]).not.toBe('open');
      if (final[i] === 'committed') charged += 3;
    }
    expect(await getBalance(db, account)).toEqual({ balance: 310 - charged, reserved: 0, available: 310 - charged });
    const resolveOverlaps = apiRes.filter((a, i) => overlap(a, jobRes[i]!)).length;
    console.info(`[${kind}] api+worker: overlapping reserve races ${reserveOverlaps}/50, resolution races ${resolveOverlaps}/${rs.length}`);
    expect(reserveOverlaps + resolveOverlaps).toBeGreaterThan(0);
  });
});
