import type { Knex } from 'knex';
import type { Db } from '../db/knex.js';
import { dbKind, nowIso } from '../db/knex.js';
import { first, sql } from '../db/fast.js';
import { DomainError } from '../errors.js';
import { newId } from '../util/ids.js';
import {
  generateApiKey, hashApiKey, isWellFormedKey, parseScopes, scopesFromColumn, scopesToColumn, type Scope,
} from './keys.js';

export interface Account {
  id: string;
  name: string;
  created_at: string;
}

export interface ApiKeyRecord {
  id: string;
  account_id: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  revoked_at: string | null;
}

/** A key as just created: the only moment its secret exists outside the caller. */
export interface CreatedApiKey extends ApiKeyRecord {
  key: string;
}

/** Who a valid key says the caller is. */
export interface KeyPrincipal {
  accountId: string;
  keyId: string;
  scopes: string[];
}

/**
 * How an account receives its starting credits. The ledger owns the money rows; accounts only ask
 * it. Wired in the composition root, src/app/compose.ts (`creditGranter` there).
 */
export type CreditGranter = (db: Db, accountId: string, credits: number, reason: string) => Promise<void>;

export interface CreateAccountInput {
  name: string;
  /** Starting grant; 0 or absent grants nothing. */
  credits?: number;
  /** Scopes of the account's first key. */
  scopes?: readonly string[] | string;
}

export async function createAccount(
  db: Db,
  input: CreateAccountInput,
  grant: CreditGranter | null,
): Promise<{ account: Account; apiKey: CreatedApiKey }> {
  return (await insertAccount(db, input, grant, false))!;
}

/**
 * The account of a first start (the development account): created only on a database with no
 * account yet, else null. The check and the insert share one locked transaction, so two
 * processes starting together on an empty database create one account between them, not two.
 */
export async function createFirstAccount(
  db: Db,
  input: CreateAccountInput,
  grant: CreditGranter | null,
): Promise<{ account: Account; apiKey: CreatedApiKey } | null> {
  return insertAccount(db, input, grant, true);
}

async function insertAccount(
  db: Db,
  input: CreateAccountInput,
  grant: CreditGranter | null,
  onlyIfFirst: boolean,
): Promise<{ account: Account; apiKey: CreatedApiKey } | null> {
  const name = input.name.trim();
  if (!name) throw new Error('an account needs a name');
  const credits = input.credits ?? 0;
  if (!Number.isSafeInteger(credits) || credits < 0) throw new Error('credits must be a non-negative integer');
  const scopes = parseScopes(input.scopes);
  if (credits > 0 && !grant) {
    throw new Error('cannot grant starting credits: no ledger is wired (src/ledger)');
  }
  const account: Account = { id: newId('acc'), name, created_at: nowIso() };
  // One transaction: an account never exists without its first key and its grant.
  const apiKey = await db.transaction(async (trx) => {
    if (onlyIfFirst) {
      // SQLite's transactions hold the write lock from BEGIN (src/db/knex.ts); PostgreSQL needs a
      // lock of its own, since the check reads no row that another process's insert would touch.
      if (dbKind(db) === 'postgres') await trx.raw("select pg_advisory_xact_lock(hashtext('lavendly.first-account'))");
      if (await trx('accounts').first('id')) return null;
    }
    await trx('accounts').insert(account);
    const key = await insertKey(trx, account.id, scopes);
    if (credits > 0) await grant!(trx, account.id, credits, 'starting grant');
    return key;
  });
  return apiKey ? { account, apiKey } : null;
}

export async function createApiKey(db: Db, accountId: string, scopes: readonly string[] | string = [], name: string | null = null): Promise<CreatedApiKey> {
  const account = await db('accounts').where({ id: accountId }).first('id');
  if (!account) throw new Error(`no account with id ${accountId}`);
  return insertKey(db, accountId, parseScopes(scopes), name);
}

async function insertKey(db: Db, accountId: string, scopes: Scope[], name: string | null = null): Promise<CreatedApiKey> {
  const { key, hash, prefix } = generateApiKey();
  const row = {
    id: newId('key'),
    account_id: accountId,
    key_hash: hash,
    prefix,
    scopes: scopesToColumn(scopes),
    created_at: nowIso(),
    revoked_at: null,
    ...(name ? { name } : {}),
  };
  await db('api_keys').insert(row);
  return { id: row.id, account_id: accountId, prefix, scopes: [...scopes], created_at: row.created_at, revoked_at: null, key };
}

/** Revokes a key; returns false when no such key exists. Revoking twice keeps the first time. */
export async function revokeApiKey(db: Db, keyId: string): Promise<boolean> {
  const found = await db('api_keys').where({ id: keyId }).first('id');
  if (!found) return false;
  await db('api_keys').where({ id: keyId }).whereNull('revoked_at').update({ revoked_at: nowIso() });
  return true;
}

/**
 * Called first inside a transaction that is about to spend credits for a request made with
 * `keyId`: throws 401 if the key has been revoked (the request may have authenticated just
 * before), and otherwise keeps the key live until the transaction ends. On PostgreSQL the row is
 * held FOR SHARE, so a revocation's UPDATE waits for this transaction; on SQLite the transaction
 * already holds the write lock. Either way, once `revokeApiKey` returns, no reservation made with
 * the key can still commit. A null key (a console session, or work the system starts itself) is not checked.
 */
export async function lockLiveKey(trx: Knex.Transaction, keyId: string | null): Promise<void> {
  if (keyId === null) return;
  const q = trx('api_keys').where({ id: keyId }).whereNull('revoked_at').first('id');
  const row = await (dbKind(trx) === 'postgres' ? q.forShare() : q);
  if (!row) throw new DomainError('unauthorized', 'The API key is not valid: unknown or revoked.');
}

/** Run on every cache miss of the key lookup, so written out (src/db/fast.ts). */
const PRINCIPAL_BY_HASH = sql('select "id", "account_id", "scopes" from "api_keys" where "key_hash" = ? and "revoked_at" is null limit 1');

/** The principal behind a key, or null when the key is unknown, malformed or revoked. */
export async function findPrincipalByKey(db: Db, key: string): Promise<KeyPrincipal | null> {
  if (!isWellFormedKey(key)) return null;
  const row = await first<{ id: string; account_id: string; scopes: string | null }>(db, PRINCIPAL_BY_HASH, [hashApiKey(key)]);
  if (!row) return null;
  return { accountId: row.account_id, keyId: row.id, scopes: scopesFromColumn(row.scopes) };
}

export async function countAccounts(db: Db): Promise<number> {
  const row = await db('accounts').count<{ n: string | number }[]>({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

export interface AccountSummary {
  id: string;
  name: string;
  created_at: string;
  /** Credits granted minus credits charged, and the part of it held by open reservations. */
  balance: number;
  reserved: number;
  /** Keys not revoked. */
  active_keys: number;
}

/** Every account, oldest first, with its balance and how many live keys it has (operators' view). */
export async function listAccounts(db: Db): Promise<AccountSummary[]> {
  const keys = db('api_keys').whereNull('revoked_at').groupBy('account_id').select('account_id').count({ n: '*' }).as('k');
  const rows = await db('accounts as a')
    .leftJoin('balances as b', 'b.account_id', 'a.id')
    .leftJoin(keys, 'k.account_id', 'a.id')
    .orderBy([{ column: 'a.created_at' }, { column: 'a.id' }])
    .select('a.id', 'a.name', 'a.created_at', 'b.balance', 'b.reserved', 'k.n');
  return rows.map((r) => ({
    id: r.id, name: r.name, created_at: r.created_at,
    balance: Number(r.balance ?? 0), reserved: Number(r.reserved ?? 0), active_keys: Number(r.n ?? 0),
  }));
}
