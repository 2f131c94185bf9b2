/**
 * Uploads and imports an account has arriving at once, in this process, and the bytes they have
 * staged so far. Each chunk is admitted only while the account's staged bytes stay within what
 * its storage quota leaves, so parallel transfers cannot together fill the disk past the quota
 * (the SQL check when an asset is stored, src/assets/quota.ts, stays the final word; several
 * server processes each keep their own count).
 */
import { ApiError, RateLimitedError } from '../http/errors.js';
import type { StorageUsage } from './quota.js';

export interface StagedTransfer {
  /** Counts `bytes` more against the budget, or throws storage_quota_exceeded. */
  admit(bytes: number): void;
  /** Gives the transfer's staged bytes and its slot back (the file was stored or dropped). */
  close(): void;
}

export class TransferBudget {
  private readonly accounts = new Map<string, { open: number; staged: number }>();

  constructor(readonly perAccount: number) {}

  /** Starts a transfer for the account, whose usage was just read; 429 when too many are arriving. */
  open(accountId: string, usage: StorageUsage): StagedTransfer {
    let entry = this.accounts.get(accountId);
    if (!entry) this.accounts.set(accountId, entry = { open: 0, staged: 0 });
    if (entry.open >= this.perAccount) {
      throw new RateLimitedError(1, {}, `${this.perAccount} uploads or imports of this account are already arriving`);
    }
    entry.open++;
    const account = entry;
    let mine = 0;
    let closed = false;
    return {
      admit: (bytes) => {
        if (account.staged + bytes > usage.remainingBytes) {
          throw new ApiError(
            'storage_quota_exceeded',
            `The files this account is uploading or importing at once would exceed the ${usage.remainingBytes} bytes left of its ${usage.quotaBytes}-byte storage quota.`,
            { limit: usage.quotaBytes, needed_bytes: account.staged + bytes, used_bytes: usage.usedBytes, quota_bytes: usage.quotaBytes, remaining_bytes: usage.remainingBytes },
          );
        }
        account.staged += bytes;
        mine += bytes;
      },
      close: () => {
        if (closed) return;
        closed = true;
        account.staged -= mine;
        if (--account.open === 0) this.accounts.delete(accountId);
      },
    };
  }
}
