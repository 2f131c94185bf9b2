import type { Knex } from 'knex';
import { ApiError } from '../http/errors.js';
import { paginate, type Page } from '../http/pagination.js';
import { newId } from '../util/ids.js';
import {
  CommitExceedsReservationError,
  InsufficientCreditsError,
  ReservationNotFoundError,
  ReservationNotOpenError,
  invalidAmount,
} from './errors.js';

/**
 * The credit ledger. Every change of money is one conditional UPDATE of the account's `balances`
 * row (which also hands out the entry's sequence number) plus one INSERT of the entry, in one
 * transaction. Nothing is read into JavaScript, changed and written back: the database decides
 * whether a reserve fits (`balance - reserved >= amount`) and which of two racing resolutions of a
 * reservation wins (`status = 'open'`), and CHECK/UNIQUE constraints back both up.
 *
 * Every function takes a Knex instance or a transaction; given a transaction it joins it, so a
 * caller can reserve credits and enqueue the job that spends them atomically.
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

/** Runs fn in the caller's transaction if given one, else in a new one. */
export function inTransaction<T>(db: Db, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  if ((db as Knex.Transaction).isTransaction) return fn(db as Knex.Transaction);
  return (db as Knex).transaction(fn);
}

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
  /** Only move if at least this much is available (reserve). */
  requireAvailable?: number;
  now: string;
}

/**
 * Moves the balance row with one conditional UPDATE that also takes the next sequence number, and
 * returns the entry to append (stamped with the row's values right after the move), or null if
 * the condition failed, in which case nothing was written.
 */
async function moveBalance(trx: Knex.Transaction, m: Move): Promise<LedgerEntry | null> {
  let q = trx('balances')
    .where({ account_id: m.accountId })
    .update({
      balance: trx.raw('balance + ?', [m.balanceDelta]),
      reserved: trx.raw('reserved + ?', [m.reservedDelta]),
      last_seq: trx.raw('last_seq + 1'),
      updated_at: m.now,
    })
    .returning(['balance', 'reserved', 'last_seq']);
  if (m.requireAvailable !== undefined) {
    q = q.andWhere(trx.raw('balance - reserved >= ?', [m.requireAvailable]));
  }
  const rows = (await q) as Array<Record<string, unknown>>;
  const moved = rows[0];
  if (!moved) return null;
  return {
    id: newId('led'),
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

/** One entry: the balance move and the appended entry (throws if the row is missing). */
async function applyEntry(trx: Knex.Transaction, m: Move): Promise<LedgerEntry> {
  const entry = await moveBalance(trx, m);
  if (!entry) throw new Error(`ledger: no balance row for account ${m.accountId}`);
  await trx('ledger_entries').insert(entry);
  return entry;
}

async function ensureBalanceRow(trx: Knex.Transaction, accountId: string, now: string): Promise<void> {
  await trx('balances')
    .insert({ account_id: accountId, balance: 0, reserved: 0, last_seq: 0, updated_at: now })
    .onConflict('account_id')
    .ignore();
}

/** Adds credits to an account. */
export async function grant(db: Db, accountId: string, amount: number, reason?: string): Promise<LedgerEntry> {
  checkAmount('amount', amount, 1);
  const now = new Date().toISOString();
  return inTransaction(db, async (trx) => {
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
  const nowDate = options.now ?? new Date();
  const now = nowDate.toISOString();
  const ttl = options.expiresInS === undefined ? DEFAULT_RESERVATION_TTL_S : options.expiresInS;
  if (ttl !== null && (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0)) {
    throw new ApiError('validation_error', `expiresInS must be a number >= 0 or null (got ${String(ttl)}).`, { field: 'expiresInS' });
  }
  const expiresAt = ttl === null ? null : new Date(nowDate.getTime() + ttl * 1000).toISOString();
  return inTransaction(db, async (trx) => {
    const id = newId('rsv');
    // Money first: if it does not fit, nothing has been written (not even inside a caller's
    // transaction, which may catch the 402 and carry on).
    const entry = await moveBalance(trx, {
      accountId, kind: 'reserve', amount, reservationId: id, reason: options.reason ?? null,
      balanceDelta: 0, reservedDelta: amount, requireAvailable: amount, now,
    });
    if (!entry) {
      const b = await getBalance(trx, accountId);
      throw new InsufficientCreditsError(amount, b.available);
    }
    const row = {
      id, account_id: accountId, amount, committed: 0, status: 'open' as const,
      reason: options.reason ?? null,
      metadata: options.metadata ? JSON.stringify(options.metadata) : null,
      expires_at: expiresAt, created_at: now, resolved_at: null,
    };
    await trx('reservations').insert(row);
    await trx('ledger_entries').insert(entry);
    return toReservation(row);
  });
}

async function loadReservation(trx: Knex.Transaction, id: string): Promise<Reservation> {
  const row = await trx('reservations').where({ id }).first();
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
  extraWhere?: (q: Knex.QueryBuilder) => void,
  nowDate: Date = new Date(),
): Promise<Resolution> {
  const now = nowDate.toISOString();
  return inTransaction(db, async (trx) => {
    const q = trx('reservations')
      .where({ id: reservationId, status: 'open' })
      .update({
        status,
        // The committed amount defaults to everything reserved; guarded by `amount >= ?` below.
        committed: status === 'committed' ? (commitAmount ?? trx.raw('amount')) : 0,
        resolved_at: now,
      })
      .returning(['id', 'account_id', 'amount', 'committed', 'status', 'reason', 'metadata', 'expires_at', 'created_at', 'resolved_at']);
    if (commitAmount !== undefined) q.andWhere('amount', '>=', commitAmount);
    extraWhere?.(q);
    const rows = (await q) as Array<Record<string, unknown>>;
    const won = rows[0];
    if (!won) {
      const current = await loadReservation(trx, reservationId);
      if (current.status !== 'open') throw new ReservationNotOpenError(reservationId, current.status);
      if (commitAmount !== undefined && commitAmount > current.amount) {
        throw new CommitExceedsReservationError(reservationId, commitAmount, current.amount);
      }
      throw new ReservationNotOpenError(reservationId, current.status);
    }
    const reservation = toReservation(won);
    const committed = reservation.committed;
    const released = reservation.amount - committed;
    const entries: LedgerEntry[] = [];
    const base = { accountId: reservation.account_id, reservationId, reason: reservation.reason, now };
    if (committed > 0) {
      entries.push(await applyEntry(trx, { ...base, kind: 'commit', amount: committed, balanceDelta: -committed, reservedDelta: -committed }));
    }
    if (released > 0) {
      entries.push(await applyEntry(trx, { ...base, kind: 'release', amount: released, balanceDelta: 0, reservedDelta: -released }));
    }
    return { reservation, committed, released, entries };
  });
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
export async function expireReservations(db: Knex, now: Date = new Date(), batchSize = 200): Promise<number> {
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
        await resolve(db, id, 'expired', undefined, (q) => q.andWhere('expires_at', '<=', nowIso), now);
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

export async function getBalance(db: Db, accountId: string): Promise<Balance> {
  const row = await db('balances').where({ account_id: accountId }).first('balance', 'reserved');
  const balance = num(row?.balance);
  const reserved = num(row?.reserved);
  return { balance, reserved, available: balance - reserved };
}

export type EntryPage = Page<LedgerEntry>;

/**
 * An account's entries, newest first, keyset-paged on the per-account sequence number (through
 * src/http/pagination's signed cursors, scoped to the account). Handlers pass the configured
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
