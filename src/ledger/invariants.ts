import type { Knex } from 'knex';

/**
 * The money invariants, checked from the tables alone (tests run this after every test):
 * 1. available >= 0 and reserved >= 0 for every account;
 * 2. balance equals the sum of the entries (grants minus commits), reserved equals reserves minus
 *    commits minus releases, and equals the amount held by open reservations;
 * 3. every reservation has exactly one reserve entry for its amount and is resolved at most once:
 *    open ones have no commit/release entries, committed ones exactly `committed` charged and the
 *    rest released, released/expired ones everything released and nothing charged;
 * 4. entries are numbered 1..n per account without gaps, and replaying them in order reproduces
 *    the balance and reserve each entry recorded;
 * 5. credits are conserved: everything granted is either still in a balance or was charged.
 */
export async function checkInvariants(db: Knex): Promise<string[]> {
  const problems: string[] = [];
  const n = (v: unknown) => Number(v ?? 0);

  const balances = new Map<string, { balance: number; reserved: number; last_seq: number }>();
  for (const r of await db('balances').select('account_id', 'balance', 'reserved', 'last_seq')) {
    const b = { balance: n(r.balance), reserved: n(r.reserved), last_seq: n(r.last_seq) };
    balances.set(r.account_id, b);
    if (b.reserved < 0) problems.push(`${r.account_id}: reserved ${b.reserved} < 0`);
    if (b.balance - b.reserved < 0) problems.push(`${r.account_id}: available ${b.balance - b.reserved} < 0`);
  }

  const sums = await db('ledger_entries')
    .select('account_id')
    .select(db.raw(`sum(case when kind = 'grant' then amount else 0 end) as granted`))
    .select(db.raw(`sum(case when kind = 'reserve' then amount else 0 end) as reserved_in`))
    .select(db.raw(`sum(case when kind = 'commit' then amount else 0 end) as committed`))
    .select(db.raw(`sum(case when kind = 'release' then amount else 0 end) as released`))
    .select(db.raw('count(*) as entries'), db.raw('min(seq) as min_seq'), db.raw('max(seq) as max_seq'))
    .groupBy('account_id');
  let totalGranted = 0;
  let totalCharged = 0;
  const seen = new Set<string>();
  for (const s of sums) {
    const id = String(s.account_id);
    seen.add(id);
    totalGranted += n(s.granted);
    totalCharged += n(s.committed);
    const b = balances.get(id);
    if (!b) { problems.push(`${id}: entries but no balance row`); continue; }
    const balance = n(s.granted) - n(s.committed);
    const reserved = n(s.reserved_in) - n(s.committed) - n(s.released);
    if (balance !== b.balance) problems.push(`${id}: balance ${b.balance} != sum of entries ${balance}`);
    if (reserved !== b.reserved) problems.push(`${id}: reserved ${b.reserved} != sum of entries ${reserved}`);
    if (n(s.min_seq) !== 1 || n(s.max_seq) !== n(s.entries) || b.last_seq !== n(s.entries)) {
      problems.push(`${id}: entry sequence not 1..${n(s.entries)} (min ${n(s.min_seq)}, max ${n(s.max_seq)}, last_seq ${b.last_seq})`);
    }
  }
  for (const [id, b] of balances) {
    if (!seen.has(id) && (b.balance !== 0 || b.reserved !== 0 || b.last_seq !== 0)) {
      problems.push(`${id}: balance row ${JSON.stringify(b)} without entries`);
    }
  }

  const openHeld: Array<Record<string, unknown>> = await db('reservations').where({ status: 'open' })
    .select('account_id', db.raw('sum(amount) as held')).groupBy('account_id');
  const held = new Map(openHeld.map((r) => [String(r.account_id), n(r.held)]));
  for (const [id, b] of balances) {
    if ((held.get(id) ?? 0) !== b.reserved) problems.push(`${id}: reserved ${b.reserved} != open reservations ${held.get(id) ?? 0}`);
  }

  // Per reservation: entries of each kind (count and amount).
  const perRes = new Map<string, Record<string, { count: number; amount: number }>>();
  const kinds: Array<Record<string, unknown>> = await db('ledger_entries').whereNotNull('reservation_id')
    .select('reservation_id', 'kind', db.raw('count(*) as c'), db.raw('sum(amount) as a')).groupBy('reservation_id', 'kind');
  for (const r of kinds) {
    const id = String(r.reservation_id);
    const m = perRes.get(id) ?? {};
    m[String(r.kind)] = { count: n(r.c), amount: n(r.a) };
    perRes.set(id, m);
  }
  const reservations = await db('reservations').select('id', 'account_id', 'amount', 'committed', 'status');
  for (const r of reservations) {
    const e = perRes.get(r.id) ?? {};
    perRes.delete(r.id);
    const amount = n(r.amount);
    const committed = n(r.committed);
    for (const [kind, v] of Object.entries(e)) {
      if (v.count > 1) problems.push(`${r.id}: ${v.count} ${kind} entries (resolved more than once)`);
    }
    const got = (k: string) => e[k]?.amount ?? 0;
    if (got('reserve') !== amount || (e.reserve?.count ?? 0) !== 1) problems.push(`${r.id}: reserve entry ${got('reserve')} != amount ${amount}`);
    const want = r.status === 'open' ? { commit: 0, release: 0 }
      : r.status === 'committed' ? { commit: committed, release: amount - committed }
      : { commit: 0, release: amount };
    if (got('commit') !== want.commit || got('release') !== want.release) {
      problems.push(`${r.id} (${r.status}): charged ${got('commit')} / released ${got('release')}, expected ${want.commit} / ${want.release}`);
    }
  }
  for (const id of perRes.keys()) problems.push(`${id}: entries for a reservation that does not exist`);

  // Replay every account's entries in order (bounded: this is a test aid).
  const total = n((await db('ledger_entries').count({ c: '*' }))[0]?.c);
  if (total <= 200_000) {
    let cur = '';
    let bal = 0;
    let res = 0;
    for (const e of await db('ledger_entries').select('account_id', 'seq', 'kind', 'amount', 'balance_after', 'reserved_after').orderBy(['account_id', 'seq'])) {
      if (e.account_id !== cur) { cur = e.account_id; bal = 0; res = 0; }
      const a = n(e.amount);
      if (e.kind === 'grant') bal += a;
      else if (e.kind === 'reserve') res += a;
      else if (e.kind === 'commit') { bal -= a; res -= a; }
      else res -= a;
      if (bal !== n(e.balance_after) || res !== n(e.reserved_after)) {
        problems.push(`${cur} seq ${e.seq}: replay gives ${bal}/${res}, entry says ${n(e.balance_after)}/${n(e.reserved_after)}`);
        bal = n(e.balance_after); res = n(e.reserved_after);
      }
      if (bal - res < 0) problems.push(`${cur} seq ${e.seq}: available went negative (${bal - res})`);
    }
  }

  let totalBalance = 0;
  for (const b of balances.values()) totalBalance += b.balance;
  if (totalGranted !== totalBalance + totalCharged) {
    problems.push(`credits not conserved: granted ${totalGranted} != balances ${totalBalance} + charged ${totalCharged}`);
  }
  return problems;
}

/** Throws listing every broken invariant. */
export async function assertInvariants(db: Knex): Promise<void> {
  const problems = await checkInvariants(db);
  if (problems.length > 0) {
    throw new Error(`ledger invariants broken:\n  ${problems.slice(0, 50).join('\n  ')}`);
  }
}
