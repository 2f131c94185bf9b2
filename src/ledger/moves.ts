import { sql, type Row, type Sql } from '../db/fast.js';
import type { SyncRunner } from '../db/sqlite-sync.js';

/**
 * The statements of reserve and resolve (commit, release, expiry), in the fewest round trips each
 * database allows, with the same effect and the same lock order (a resolution locks the
 * reservation row, then the balance row):
 *
 * - SQLite: three prepared statements run synchronously in one transaction, shared with the other
 *   moves of the same turn (src/db/sqlite-group.ts).
 *   A resolution moves the balance once for both its commit and release entries.
 * - PostgreSQL: one statement each, data-modifying CTEs, so a reserve or a commit is one round
 *   trip and, outside a caller's transaction, one implicit transaction. The balance UPDATE reads
 *   the reservation CTE's row, so it cannot lock the balance row before the reservation's.
 *
 * Every entry is numbered and stamped from the balance row right after the move: when one move
 * covers a commit and a release, the commit entry takes the first of the two sequence numbers and
 * the reserve as it was before the release.
 */

export interface ReserveInput {
  id: string;
  entryId: string;
  accountId: string;
  amount: number;
  reason: string | null;
  metadata: string | null;
  expiresAt: string | null;
  now: string;
}

/** The balance row right after a move. */
export interface After { balance: number; reserved: number; last_seq: number }

export type ReserveOutcome = { after: After } | { available: number };

export interface ResolveInput {
  reservationId: string;
  status: 'committed' | 'released' | 'expired';
  /** Charged amount when committing part; default all (commit) or nothing (release, expiry). */
  commitAmount?: number;
  /** Expiry: only if the reservation expires at or before this time. */
  expiredBy?: string;
  now: string;
  /** Ids for the commit entry and the release entry (each written only if its amount is > 0). */
  entryIds: [string, string];
}

/** The resolved reservation's row and the balance after it; null if it was not open (or not
 *  resolvable as asked), in which case nothing was written. */
export type ResolveOutcome = { reservation: Row; after: After } | null;

export interface EntryValues {
  id: string; account_id: string; seq: number; kind: 'commit' | 'release'; amount: number;
  reservation_id: string; balance_after: number; reserved_after: number; reason: string | null; created_at: string;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const after = (row: Row): After => ({ balance: num(row.balance), reserved: num(row.reserved), last_seq: num(row.last_seq) });

/** The commit and release entries of a resolution, from the reservation and the balance after it. */
export function resolutionEntries(reservation: Row, a: After, input: ResolveInput): EntryValues[] {
  const amount = num(reservation.amount);
  const committed = num(reservation.committed);
  const released = amount - committed;
  const base = {
    account_id: String(reservation.account_id), reservation_id: String(reservation.id),
    reason: (reservation.reason as string | null) ?? null, created_at: input.now, balance_after: a.balance,
  };
  const entries: EntryValues[] = [];
  if (committed > 0) {
    entries.push({ ...base, id: input.entryIds[0], kind: 'commit', amount: committed, seq: a.last_seq - (released > 0 ? 1 : 0), reserved_after: a.reserved + released });
  }
  if (released > 0) entries.push({ ...base, id: input.entryIds[1], kind: 'release', amount: released, seq: a.last_seq, reserved_after: a.reserved });
  return entries;
}

const ENTRY_COLUMNS = ['id', 'account_id', 'seq', 'kind', 'amount', 'reservation_id', 'balance_after', 'reserved_after', 'reason', 'created_at'] as const;
const RESERVATION_COLUMNS = ['id', 'account_id', 'amount', 'committed', 'status', 'reason', 'metadata', 'expires_at', 'created_at', 'resolved_at'] as const;
const list = (columns: readonly string[], prefix = '') => columns.map((c) => `${prefix}"${c}"`).join(', ');
const placeholders = (n: number) => `(${Array(n).fill('?').join(', ')})`;

// ---- SQLite --------------------------------------------------------------------------------

const HOLD = sql('update "balances" set "reserved" = "reserved" + ?, "last_seq" = "last_seq" + 1, "updated_at" = ?'
  + ' where "account_id" = ? and "balance" - "reserved" >= ? returning "balance", "reserved", "last_seq"');
const SETTLE = sql('update "balances" set "balance" = "balance" - ?, "reserved" = "reserved" - ?, "last_seq" = "last_seq" + ?,'
  + ' "updated_at" = ? where "account_id" = ? returning "balance", "reserved", "last_seq"');
const INSERT_RESERVATION = sql(`insert into "reservations" (${list(RESERVATION_COLUMNS)}) values ${placeholders(RESERVATION_COLUMNS.length)}`);
const INSERT_ENTRY = sql(`insert into "ledger_entries" (${list(ENTRY_COLUMNS)}) values ${placeholders(ENTRY_COLUMNS.length)}`);
const INSERT_TWO_ENTRIES = sql(`insert into "ledger_entries" (${list(ENTRY_COLUMNS)}) values ${placeholders(ENTRY_COLUMNS.length)}, ${placeholders(ENTRY_COLUMNS.length)}`);
export const BALANCE = sql('select "balance", "reserved" from "balances" where "account_id" = ? limit 1');

const resolveStatements = new Map<string, Sql>();
/** SQLite's guarded UPDATE that resolves a reservation (one text per shape of guard). */
function resolveStatement(committed: 'all' | 'given' | 'none', expiring: boolean): Sql {
  const key = `${committed}:${expiring}`;
  let statement = resolveStatements.get(key);
  if (!statement) {
    const value = committed === 'given' ? '?' : committed === 'all' ? '"amount"' : '0';
    statement = sql(`update "reservations" set "status" = ?, "committed" = ${value}, "resolved_at" = ? where "id" = ? and "status" = 'open'`
      + (committed === 'given' ? ' and "amount" >= ?' : '') + (expiring ? ' and "expires_at" <= ?' : '')
      + ` returning ${list(RESERVATION_COLUMNS)}`);
    resolveStatements.set(key, statement);
  }
  return statement;
}

export interface GrantInput { entryId: string; accountId: string; amount: number; reason: string | null; now: string }

const ENSURE_BALANCE = sql('insert into "balances" ("account_id", "balance", "reserved", "last_seq", "updated_at") values (?, 0, 0, 0, ?)'
  + ' on conflict ("account_id") do nothing');
const CREDIT = sql('update "balances" set "balance" = "balance" + ?, "last_seq" = "last_seq" + 1, "updated_at" = ?'
  + ' where "account_id" = ? returning "balance", "reserved", "last_seq"');

/** A grant on SQLite: the balance row (created at 0 if missing), moved, and its entry. */
export function grantOnSqlite(q: SyncRunner, g: GrantInput): After {
  q.run(ENSURE_BALANCE, [g.accountId, g.now]);
  const [moved] = q.rows(CREDIT, [g.amount, g.now, g.accountId]);
  if (!moved) throw new Error(`ledger: no balance row for account ${g.accountId}`);
  const a = after(moved);
  q.run(INSERT_ENTRY, [g.entryId, g.accountId, a.last_seq, 'grant', g.amount, null, a.balance, a.reserved, g.reason, g.now]);
  return a;
}

export function reserveOnSqlite(q: SyncRunner, r: ReserveInput): ReserveOutcome {
  // Money first: if it does not fit, nothing has been written.
  const [moved] = q.rows(HOLD, [r.amount, r.now, r.accountId, r.amount]);
  if (!moved) {
    const [b] = q.rows(BALANCE, [r.accountId]);
    return { available: num(b?.balance) - num(b?.reserved) };
  }
  const a = after(moved);
  q.run(INSERT_RESERVATION, [r.id, r.accountId, r.amount, 0, 'open', r.reason, r.metadata, r.expiresAt, r.now, null]);
  q.run(INSERT_ENTRY, [r.entryId, r.accountId, a.last_seq, 'reserve', r.amount, r.id, a.balance, a.reserved, r.reason, r.now]);
  return { after: a };
}

export function resolveOnSqlite(q: SyncRunner, r: ResolveInput): ResolveOutcome {
  const committedBy = r.status !== 'committed' ? 'none' : r.commitAmount === undefined ? 'all' : 'given';
  const params: unknown[] = [r.status];
  if (committedBy === 'given') params.push(r.commitAmount);
  params.push(r.now, r.reservationId);
  if (committedBy === 'given') params.push(r.commitAmount);
  if (r.expiredBy !== undefined) params.push(r.expiredBy);
  const [won] = q.rows(resolveStatement(committedBy, r.expiredBy !== undefined), params);
  if (!won) return null;
  const amount = num(won.amount);
  const committed = num(won.committed);
  const moves = (committed > 0 ? 1 : 0) + (amount > committed ? 1 : 0);
  const [moved] = q.rows(SETTLE, [committed, amount, moves, r.now, won.account_id]);
  if (!moved) throw new Error(`ledger: no balance row for account ${String(won.account_id)}`);
  const a = after(moved);
  const entries = resolutionEntries(won, a, r);
  q.run(entries.length === 2 ? INSERT_TWO_ENTRIES : INSERT_ENTRY, entries.flatMap((e) => ENTRY_COLUMNS.map((c) => e[c])));
  return { reservation: won, after: a };
}

// ---- PostgreSQL ----------------------------------------------------------------------------
// Written with $n placeholders (fast.ts passes texts without `?` through unchanged).

/** $1 amount, $2 now, $3 account, $4 reservation id, $5 reason, $6 metadata, $7 expires_at, $8 entry id. */
export const RESERVE_PG = sql(`with "moved" as (
  update "balances" set "reserved" = "reserved" + $1::bigint, "last_seq" = "last_seq" + 1, "updated_at" = $2::varchar
  where "account_id" = $3::varchar and "balance" - "reserved" >= $1::bigint
  returning "balance", "reserved", "last_seq"
), "held" as (
  insert into "reservations" (${list(RESERVATION_COLUMNS)})
  select $4::varchar, $3::varchar, $1::bigint, 0, 'open', $5::varchar, $6::text, $7::varchar, $2::varchar, null from "moved"
), "entry" as (
  insert into "ledger_entries" (${list(ENTRY_COLUMNS)})
  select $8::varchar, $3::varchar, "last_seq", 'reserve', $1::bigint, $4::varchar, "balance", "reserved", $5::varchar, $2::varchar from "moved"
)
select "balance", "reserved", "last_seq" from "moved"`);

export function reserveParamsPg(r: ReserveInput): unknown[] {
  return [r.amount, r.now, r.accountId, r.id, r.reason, r.metadata, r.expiresAt, r.entryId];
}

/**
 * $1 status, $2 now, $3 reservation id, $4 amount to charge (null: all when committing), $5 expired
 * by (null: no expiry guard), $6 commit entry id, $7 release entry id.
 */
export const RESOLVE_PG = sql(`with "won" as (
  update "reservations" set "status" = $1::varchar,
    "committed" = case when $1::varchar = 'committed' then coalesce($4::bigint, "amount") else 0 end,
    "resolved_at" = $2::varchar
  where "id" = $3::varchar and "status" = 'open'
    and ($4::bigint is null or "amount" >= $4::bigint)
    and ($5::varchar is null or "expires_at" <= $5::varchar)
  returning ${list(RESERVATION_COLUMNS)}
), "moved" as (
  update "balances" as b set "balance" = b."balance" - w."committed", "reserved" = b."reserved" - w."amount",
    "last_seq" = b."last_seq" + (w."committed" > 0)::int + (w."amount" > w."committed")::int, "updated_at" = $2::varchar
  from "won" as w where b."account_id" = w."account_id"
  returning b."balance", b."reserved", b."last_seq"
), "entries" as (
  insert into "ledger_entries" (${list(ENTRY_COLUMNS)})
  select e."id", w."account_id", e."seq", e."kind", e."amount", w."id", m."balance", e."reserved_after", w."reason", $2::varchar
  from "won" as w cross join "moved" as m cross join lateral (values
    ($6::varchar, 'commit', w."committed", m."last_seq" - (w."amount" > w."committed")::int, m."reserved" + (w."amount" - w."committed")),
    ($7::varchar, 'release', w."amount" - w."committed", m."last_seq", m."reserved")
  ) as e("id", "kind", "amount", "seq", "reserved_after")
  where e."amount" > 0
)
select ${list(RESERVATION_COLUMNS, 'w.')}, m."balance" as "after_balance", m."reserved" as "after_reserved", m."last_seq" as "after_last_seq"
from "won" as w cross join "moved" as m`);

export function resolveParamsPg(r: ResolveInput): unknown[] {
  return [r.status, r.now, r.reservationId, r.commitAmount ?? null, r.expiredBy ?? null, r.entryIds[0], r.entryIds[1]];
}

export function resolvedPg(row: Row | undefined): ResolveOutcome {
  if (!row) return null;
  return { reservation: row, after: { balance: num(row.after_balance), reserved: num(row.after_reserved), last_seq: num(row.after_last_seq) } };
}
