/**
 * Uploads and imports an account has arriving at once, and the bytes they have staged so far.
 * Each chunk is admitted only while the account's staged bytes stay within what its storage
 * quota leaves, so parallel transfers cannot together fill the disk past the quota (the SQL check
 * when an asset is stored, src/assets/quota.ts, stays the final word).
 *
 * With a database the count of transfers at once is shared by every process on it
 * (src/assets/transfer-slots.ts). The staged bytes are counted per process: admitting a chunk is
 * synchronous, on the stream's hot path, and a round trip per chunk would cost more than the
 * final quota check it would anticipate.
 */
import type { Db } from '../db/knex.js';
import { DomainError, TooManyRequestsError } from '../errors.js';
import type { StorageUsage } from './quota.js';
import { claimTransferSlot, type TransferSlot } from './transfer-slots.js';

export interface StagedTransfer {
  /** Counts `bytes` more against the budget, or throws storage_quota_exceeded. */
  admit(bytes: number): void;
  /** Gives the transfer's staged bytes and its slot back (the file was stored or dropped). */
  close(): Promise<void>;
}

export class TransferBudget {
  private readonly accounts = new Map<string, { open: number; staged: number }>();

  /** `db`: count the transfers at once across every process on this database. */
  constructor(readonly perAccount: number, private readonly db?: Db) {}

  /** Starts a transfer for the account, whose usage was just read; 429 when too many are arriving. */
  async open(accountId: string, usage: StorageUsage): Promise<StagedTransfer> {
    const busy = () => new TooManyRequestsError(1, `${this.perAccount} uploads or imports of this account are already arriving`);
    let slot: TransferSlot | null = null;
    if (this.db && Number.isFinite(this.perAccount)) {
      slot = await claimTransferSlot(this.db, accountId, this.perAccount);
      if (!slot) throw busy();
    }
    let entry = this.accounts.get(accountId);
    if (!entry) this.accounts.set(accountId, entry = { open: 0, staged: 0 });
    if (!slot && entry.open >= this.perAccount) throw busy();
    entry.open++;
    const account = entry;
    let mine = 0;
    let closed = false;
    return {
      admit: (bytes) => {
        if (account.staged + bytes > usage.remainingBytes) {
          throw new DomainError(
            'storage_quota_exceeded',
            `The files this account is uploading or importing at once would exceed the ${usage.remainingBytes} bytes left of its ${usage.quotaBytes}-byte storage quota.`,
            { limit: usage.quotaBytes, needed_bytes: account.staged + bytes, used_bytes: usage.usedBytes, quota_bytes: usage.quotaBytes, remaining_bytes: usage.remainingBytes },
          );
        }
        account.staged += bytes;
        mine += bytes;
      },
      close: async () => {
        if (closed) return;
        closed = true;
        account.staged -= mine;
        if (--account.open === 0) this.accounts.delete(accountId);
        await slot?.release();
      },
    };
  }
}
