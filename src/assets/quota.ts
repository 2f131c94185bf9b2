/**
 * Per-account storage usage against a quota, guarded in SQL: usage grows only through a
 * conditional update that checks the quota in the same statement, and a CHECK constraint refuses
 * any write that would overflow it. Nothing is read, added up in JavaScript and written back.
 */
import type { Knex } from 'knex';
import { nowIso } from '../db/knex.js';
import { DomainError } from '../errors.js';
import { DEFAULT_QUOTA_BYTES, type AssetsConfig } from './config.js';

export interface StorageUsage {
  usedBytes: number;
  quotaBytes: number;
  remainingBytes: number;
}

type Executor = Knex | Knex.Transaction;

/** Creates the account's usage row (with the configured default quota) if it has none yet. */
async function ensureUsageRow(db: Executor, accountId: string, config: AssetsConfig = {}): Promise<void> {
  await db('storage_usage')
    .insert({ account_id: accountId, used_bytes: 0, quota_bytes: config.quotaBytes ?? DEFAULT_QUOTA_BYTES, updated_at: nowIso() })
    .onConflict('account_id')
    .ignore();
}

export async function getUsage(db: Executor, accountId: string, config: AssetsConfig = {}): Promise<StorageUsage> {
  const row = await db('storage_usage').where({ account_id: accountId }).first('used_bytes', 'quota_bytes');
  const usedBytes = Number(row?.used_bytes ?? 0);
  const quotaBytes = Number(row?.quota_bytes ?? config.quotaBytes ?? DEFAULT_QUOTA_BYTES);
  return { usedBytes, quotaBytes, remainingBytes: Math.max(0, quotaBytes - usedBytes) };
}

export class QuotaExceededError extends DomainError {
  constructor(neededBytes: number, usage: StorageUsage) {
    super(
      'storage_quota_exceeded',
      `This file needs ${neededBytes} bytes but only ${usage.remainingBytes} of the account's ${usage.quotaBytes}-byte storage quota are left.`,
      { limit: usage.quotaBytes, needed_bytes: neededBytes, used_bytes: usage.usedBytes, quota_bytes: usage.quotaBytes, remaining_bytes: usage.remainingBytes },
    );
  }
}

/** Adds `bytes` to the account's usage if, and only if, it stays within the quota; else throws QuotaExceededError. */
export async function reserveBytes(db: Executor, accountId: string, bytes: number, config: AssetsConfig = {}): Promise<void> {
  await ensureUsageRow(db, accountId, config);
  const updated = await db('storage_usage')
    .where({ account_id: accountId })
    .andWhereRaw('used_bytes + ? <= quota_bytes', [bytes])
    .update({ used_bytes: db.raw('used_bytes + ?', [bytes]), updated_at: nowIso() });
  if (updated !== 1) throw new QuotaExceededError(bytes, await getUsage(db, accountId, config));
}

/** Gives `bytes` back (an asset was deleted). Never below zero. */
export async function releaseBytes(db: Executor, accountId: string, bytes: number): Promise<void> {
  await db('storage_usage')
    .where({ account_id: accountId })
    .update({ used_bytes: db.raw('case when used_bytes >= ? then used_bytes - ? else 0 end', [bytes, bytes]), updated_at: nowIso() });
}

/** Sets an account's quota (plans, support). Refused by the CHECK if usage is already above it. */
export async function setQuota(db: Executor, accountId: string, quotaBytes: number, config: AssetsConfig = {}): Promise<void> {
  await ensureUsageRow(db, accountId, config);
  await db('storage_usage').where({ account_id: accountId }).update({ quota_bytes: quotaBytes, updated_at: nowIso() });
}
