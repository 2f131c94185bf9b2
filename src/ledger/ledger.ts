import type { Knex } from 'knex';
import { first as fastFirst, rows as fastRows, run as fastRun, sql, transaction, type FastTransaction, type Runner } from '../db/fast.js';
import { DomainError } from '../errors.js';
import { dbKind } from '../db/knex.js';
import { paginate, type Page } from '../db/pagination.js';
import { sqliteGroupWork } from '../db/sqlite-group.js';
import { timeOrderedId } from '../util/ids.js';
import {
  CommitExceedsReservationError,
  InsufficientCreditsError,
  ReservationNotFoundError,
  ReservationNotOpenError,
  invalidAmount,
} from './errors.js';
import {
  BALANCE, grantOnSqlite, RESERVE_PG, RESOLVE_PG, reserveOnSqlite, reserveParamsPg, resolutionEntries, resolvedPg, resolveOnSqlite, resolveParamsPg,
  type ReserveInput, type ReserveOutcome, type ResolveInput,
} from './moves.js';
import { clusterDate } from '../db/cluster-time.js';

/**
 * The credit ledger. Every change of money is one conditional UPDATE of the account's `balances`
 * row (which also hands out the entries' sequence numbers) plus the INSERT of its entries, in one
 * transaction (on PostgreSQL reserve and resolve are one statement each: ./moves.ts). Nothing is read into JavaScript, changed and written back: the database decides
 * whether a reserve fits (`balance - reserved >= amount`) and which of two racing resolutions of a
 * reservation wins (`status = 'open'`), and CHECK/UNIQUE constraints back both up.
 *
 * Every function takes a Knex instance or a transaction; given a transaction it joins it, so a
 * caller can reserve credits and enqueue the job that spends them atomically. Otherwise, on
 * SQLite, the moves started in one turn of the event loop share one transaction, each in its own
 * savepoint and each settled only once that transaction committed (src/db/sqlite-group.ts).
 */

export type EntryKind = 'grant' | 'reserve' | 'commit' | 'release';
export type ReservationStatus = 'open' | 'committed' | 'released' | 'expired';

export interface LedgerEntry {
  id: string;
  account_id: string;
  /** Per-account sequence number: 1, 2, 3, ... in the order the entries happened. */
  seq: number;
  kind: EntryKind;
  /** Always > 0; the kind says which way it moves (grant: +balance, reserve: +reserved,
   *  commit: -balance -reserved, release: -reserved). */
  amount: number;
  reservation_id: string | null;
  balance_after: number;
  reserved_after: number;
  reason: string | null;
  created_at: string;
}

export interface Reservation {
  id: string;
  account_id: string;
  amount: number;
  committed: number;
  status: ReservationStatus;
  reason: string | null;
  metadata: Record<string, unknown> | null;
  expires_at: string | null;
  created_at: string;
  resolved_at: string | null;
}

export interface Balance {
  balance: number;
  reserved: number;
  available: number;
}

export interface ReserveOptions {
  reason?: string;
  /** Seconds until the system releases the reservation if nobody resolved it; null = never.
   *  Default one hour. */
  expiresInS?: number | null;
  metadata?: Record<string, unknown>;
  /** Clock override (tests). */
  now?: Date;
}

export interface Resolution {
  reservation: Reservation;
  committed: number;
  released: number;
  entries: LedgerEntry[];
}

export const DEFAULT_RESERVATION_TTL_S = 3600;

type Db = Knex | Knex.Transaction;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

function checkAmount(field: string, amount: unknown, min: number): number {
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < min) {
    throw invalidAmount(field, amount, min);
  }
  return amount;
}

function toEntry(row: Record<string, unknown>): LedgerEntry {
  return {
    id: String(row.id),
    account_id: String(row.account_id),
    seq: num(row.seq),
    kind: row.kind as EntryKind,
    amount: num(row.amount),
    reservation_id: (row.reservation_id as string | null) ?? null,
    balance_after: num(row.balance_after),
    reserved_after: num(row.reserved_after),
    reason: (row.reason as string | null) ?? null,
    created_at: String(row.created_at),
  };
}

function toReservation(row: Record<string, unknown>): Reservation {
  return {
    id: String(row.id),
    account_id: String(row.account_id),
    amount: num(row.amount),
    committed: num(row.committed),
    status: row.status as ReservationStatus,
    reason: (row.reason as string | null) ?? null,
    metadata: row.metadata ? (JSON.parse(String(row.metadata)) as Record<string, unknown>) : null,
    expires_at: (row.expires_at as string | null) ?? null,
    created_at: String(row.created_at),
    resolved_at: (row.resolved_at as string | null) ?? null,
  };
}

interface Move {
  accountId: string;
  kind: EntryKind;
  amount: number;
  reservationId: string | null;
  reason: string | null;
  balanceDelta: number;
  reservedDelta: number;
  now: string;
}

/**
 * Moves the balance row with one UPDATE that also takes the next sequence number, and returns the
 * entry to append (stamped with the row's values right after the move), or null without a row.
 */
async function moveBalance(trx: FastTransaction, m: Move): Promise<LedgerEntry | null> {
  const moved = (await fastRows(trx, MOVE, [m.balanceDelta, m.reservedDelta, m.now, m.accountId]))[0];
  if (!moved) return null;
  return {
    id: timeOrderedId('led'),
    account_id: m.accountId,
    seq: num(moved.last_seq),
    kind: m.kind,
    amount: m.amount,
    reservation_id: m.reservationId,
    balance_after: num(moved.balance),
    reserved_after: num(moved.reserved),
    reason: m.reason,
    created_at: m.now,
  };
}

// Grant's statements, written out once (src/db/fast.ts); reserve's and resolve's are in ./moves.ts.
const MOVE = sql('update "balances" set "balance" = "balance" + ?, "reserved" = "reserved" + ?, "last_seq" = "last_seq" + 1,'
  + ' "updated_at" = ? where "account_id" = ? returning "balance", "reserved", "last_seq"');
const ENTRY_COLUMNS = ['id', 'account_id', 'seq', 'kind', 'amount', 'reservation_id', 'balance_after', 'reserved_after', 'reason', 'created_at'] as const;
const INSERT_ENTRY = sql(`insert into "ledger_entries" (${ENTRY_COLUMNS.map((c) => `"${c}"`).join(', ')}) values (${ENTRY_COLUMNS.map(() => '?').join(', ')})`);
const RESERVATION = sql('select * from "reservations" where "id" = ? limit 1');

/** One entry: the balance move and the appended entry (throws if the row is missing). */
async function applyEntry(trx: FastTransaction, m: Move): Promise<LedgerEntry> {
  const entry = await moveBalance(trx, m);
  if (!entry) throw new Error(`ledger: no balance row for account ${m.accountId}`);
  await fastRun(trx, INSERT_ENTRY, ENTRY_COLUMNS.map((c) => entry[c]));
  return entry;
}

const ENSURE_BALANCE_ROW = sql('insert into "balances" ("account_id", "balance", "reserved", "last_seq", "updated_at") values (?, 0, 0, 0, ?) on conflict ("account_id") do nothing');

async function ensureBalanceRow(trx: FastTransaction, accountId: string, now: string): Promise<void> {
  await fastRun(trx, ENSURE_BALANCE_ROW, [accountId, now]);
}

/** Adds credits to an account. */
export async function grant(db: Db, accountId: string, amount: number, reason?: string): Promise<LedgerEntry> {
  checkAmount('amount', amount, 1);
  const now = clusterDate().toISOString();
  if (dbKind(db as Knex) !== 'postgres') {
    const entryId = timeOrderedId('led');
    const a = await sqliteGroupWork(db, (q) => grantOnSqlite(q, { entryId, accountId, amount, reason: reason ?? null, now }));
    return {
      id: entryId, account_id: accountId, seq: a.last_seq, kind: 'grant', amount, reservation_id: null,
      balance_after: a.balance, reserved_after: a.reserved, reason: reason ?? null, created_at: now,
    };
  }
  return transaction(db, async (trx) => {
    await ensureBalanceRow(trx, accountId, now);
    return applyEntry(trx, {
      accountId, kind: 'grant', amount, reservationId: null, reason: reason ?? null,
      balanceDelta: amount, reservedDelta: 0, now,
    });
  });
}

/**
 * Holds `amount` credits for later commit or release. Throws InsufficientCreditsError (402, with
 * `needed` and `available`) when the account cannot cover it; then nothing is written.
 */
export async function reserve(db: Db, accountId: string, amount: number, options: ReserveOptions = {}): Promise<Reservation> {
  checkAmount('amount', amount, 1);
  const nowDate = options.now ?? clusterDate();
  const now = nowDate.toISOString();
  const ttl = options.expiresInS === undefined ? DEFAULT_RESERVATION_TTL_S : options.expiresInS;
  if (ttl !== null && (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0)) {
    throw new DomainError('validation_error', `expiresInS must be a number >= 0 or null (got ${String(ttl)}).`, { field: 'expiresInS' });
  }
  const expiresAt = ttl === null ? null : new Date(nowDate.getTime() + ttl * 1000).toISOString();
  const input: ReserveInput = {
    id: timeOrderedId('rsv'), entryId: timeOrderedId('led'), accountId, amount, reason: options.reason ?? null,
    metadata: options.metadata ? JSON.stringify(options.metadata) : null, expiresAt, now,
  };
  const outcome: ReserveOutcome = dbKind(db as Knex) === 'postgres'
    ? await reserveOnPostgres(db, input)
    : await sqliteGroupWork(db, (q) => reserveOnSqlite(q, input));
  if ('available' in outcome) throw new InsufficientCreditsError(amount, outcome.available);
  return {
    id: input.id, account_id: accountId, amount, committed: 0, status: 'open', reason: input.reason,
    metadata: input.metadata ? (JSON.parse(input.metadata) as Record<string, unknown>) : null, expires_at: expiresAt, created_at: now, resolved_at: null,
  };
}

async function reserveOnPostgres(db: Runner, input: ReserveInput): Promise<ReserveOutcome> {
  const moved = await fastFirst(db, RESERVE_PG, reserveParamsPg(input));
  if (moved) return { after: { balance: num(moved.balance), reserved: num(moved.reserved), last_seq: num(moved.last_seq) } };
  return { available: (await getBalance(db, input.accountId)).available };
}

async function loadReservation(trx: Runner, id: string): Promise<Reservation> {
  const row = await fastFirst(trx, RESERVATION, [id]);
  if (!row) throw new ReservationNotFoundError(id);
  return toReservation(row);
}

/**
 * Resolves an open reservation: claims it with `status = 'open'` in the WHERE clause, so of any
 * number of concurrent resolutions exactly one updates the row; only that one writes entries.
 */
async function resolve(
  db: Db,
  reservationId: string,
  status: Exclude<ReservationStatus, 'open'>,
  commitAmount: number | undefined,
  expiredBy?: string,
  nowDate: Date = clusterDate(),
): Promise<Resolution> {
  const input: ResolveInput = {
    reservationId, status, commitAmount, expiredBy, now: nowDate.toISOString(), entryIds: [timeOrderedId('led'), timeOrderedId('led')],
  };
  const outcome = dbKind(db as Knex) === 'postgres'
    ? resolvedPg(await fastFirst(db, RESOLVE_PG, resolveParamsPg(input)))
    : await sqliteGroupWork(db, (q) => resolveOnSqlite(q, input));
  if (!outcome) {
    // Nothing was written; say why.
    const current = await loadReservation(db, reservationId);
    if (current.status !== 'open') throw new ReservationNotOpenError(reservationId, current.status);
    if (commitAmount !== undefined && commitAmount > current.amount) {
      throw new CommitExceedsReservationError(reservationId, commitAmount, current.amount);
    }
    throw new ReservationNotOpenError(reservationId, current.status);
  }
  const reservation = toReservation(outcome.reservation);
  const entries: LedgerEntry[] = resolutionEntries(outcome.reservation, outcome.after, input);
  return { reservation, committed: reservation.committed, released: reservation.amount - reservation.committed, entries };
}

/**
 * Charges `amount` (default: all) of an open reservation and releases the rest. Resolves once:
 * a second commit or a release after it throws ReservationNotOpenError (409).
 */
export async function commit(db: Db, reservationId: string, amount?: number): Promise<Resolution> {
  if (amount !== undefined) checkAmount('amount', amount, 0);
  return resolve(db, reservationId, 'committed', amount);
}

/** Gives an open reservation back in full (a refund of the hold; nothing was charged). */
export async function release(db: Db, reservationId: string): Promise<Resolution> {
  return resolve(db, reservationId, 'released', undefined);
}

/**
 * Releases every open reservation whose expiry is at or before `now`, each in its own transaction
 * and each guarded like any other resolution, so it is safe to run from several processes at
 * once and alongside commits. Returns how many this call expired.
 */
export async function expireReservations(db: Knex, now: Date = clusterDate(), batchSize = 200): Promise<number> {
  const nowIso = now.toISOString();
  let expired = 0;
  for (;;) {
    const due = await db('reservations')
      .where({ status: 'open' })
      .andWhere('expires_at', '<=', nowIso)
      .orderBy('expires_at')
      .limit(batchSize)
      .pluck('id');
    if (due.length === 0) return expired;
    let progressed = 0;
    for (const id of due as string[]) {
      try {
        await resolve(db, id, 'expired', undefined, nowIso, now);
        expired++;
        progressed++;
      } catch (err) {
        if (err instanceof ReservationNotOpenError) { progressed++; continue; }
        throw err;
      }
    }
    if (due.length < batchSize || progressed === 0) return expired;
  }
}

export async function getReservation(db: Db, id: string): Promise<Reservation | null> {
  const row = await db('reservations').where({ id }).first();
  return row ? toReservation(row) : null;
}

export async function getBalance(db: Runner, accountId: string): Promise<Balance> {
  const row = await fastFirst(db, BALANCE, [accountId]);
  const balance = num(row?.balance);
  const reserved = num(row?.reserved);
  return { balance, reserved, available: balance - reserved };
}

export type EntryPage = Page<LedgerEntry>;

/**
 * An account's entries, newest first, keyset-paged on the per-account sequence number (through
 * src/db/pagination's signed cursors, scoped to the account). Handlers pass the configured
 * signing secret; without one a fixed development secret is used.
 */
export async function listEntries(
  db: Db,
  accountId: string,
  options: { limit?: number; cursor?: string | null; secret?: string } = {},
): Promise<EntryPage> {
  return paginate(db('ledger_entries').where({ account_id: accountId }), {
    limit: options.limit,
    cursor: options.cursor,
    secret: options.secret ?? 'lavendly-dev-ledger-cursor',
    scope: `ledger_entries:${accountId}`,
    keys: [{ column: 'seq' }],
    direction: 'desc',
    map: toEntry,
  });
}
