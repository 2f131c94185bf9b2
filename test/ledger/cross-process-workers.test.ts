import { describe, expect, it } from 'vitest';
import { commit, getBalance, grant } from '../../src/ledger/index.js';
import { testDatabases } from '../helpers/db.js';
import { STEP_MS, drained, jobResults, overlap, raceEnv, statuses, type Op } from '../helpers/job-ledger-race.js';

/** Two job worker processes contend for one account's credits. */
describe.each(testDatabases())('ledger contended by two worker processes on %s', (kind) => {
  const env = raceEnv(kind);

  it('100 one-credit reserves on balance 10 -> exactly 10; commit and release jobs race per reservation', async () => {
    const { db, account } = env;
    // One job at a time per worker: the two jobs of a round are then split between them.
    const [a, b] = [env.spawn('wa', 1), env.spawn('wb', 1)];
    await Promise.all([a.ready, b.ready]);
    await grant(db, account, 10);
    let T = Date.now() + 600;
    const reserveIds = await env.ledgerJobs(Array.from({ length: 100 }, (_, i) => ({
      op: 'reserve', accountId: account, amount: 1, at: T + Math.floor(i / 2) * STEP_MS,
    })));
    await drained(db);
    const reserves = await jobResults(db, reserveIds);
    expect(reserves.filter((r) => r.won)).toHaveLength(10);
    expect(new Set(reserves.map((r) => r.worker))).toEqual(new Set(['wa', 'wb']));
    const pairsOf = <T>(xs: T[]) => Array.from({ length: xs.length / 2 }, (_, i) => [xs[2 * i]!, xs[2 * i + 1]!] as const);
    const reserveOverlaps = pairsOf(reserves).filter(([x, y]) => x.worker !== y.worker && overlap(x, y)).length;
    for (const id of await db('reservations').where({ status: 'open' }).pluck('id')) await commit(db, id);

    await grant(db, account, 200);
    const rs = await env.reservations(24, 5);
    const kinds: Array<[Op, Op]> = [['commit', 'commit'], ['commit', 'release'], ['release', 'release']];
    T = Date.now() + 600;
    const ids = await env.ledgerJobs(rs.flatMap((r, i) => kinds[i % 3]!.map((op) => ({
      op, reservationId: r.id, amount: op === 'commit' ? 4 : undefined, at: T + i * STEP_MS,
    }))));
    await drained(db);
    const results = pairsOf(await jobResults(db, ids));
    const final = await statuses(db, rs);
    let charged = 10;
    for (const [i, [x, y]] of results.entries()) {
      expect(Number(x.won) + Number(y.won), `reservation ${i} (${kinds[i % 3]!.join('/')})`).toBe(1);
      expect(final[i]).not.toBe('open');
      if (final[i] === 'committed') charged += 4;
    }
    expect(await getBalance(db, account)).toEqual({ balance: 210 - charged, reserved: 0, available: 210 - charged });
    const resolveOverlaps = results.filter(([x, y]) => x.worker !== y.worker && overlap(x, y)).length;
    console.info(`[${kind}] two workers: cross-process overlapping reserve races ${reserveOverlaps}/50, resolution races ${resolveOverlaps}/${rs.length}`);
    expect(reserveOverlaps + resolveOverlaps).toBeGreaterThan(0);
  });
});
