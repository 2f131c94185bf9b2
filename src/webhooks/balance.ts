import type { Knex } from 'knex';
import { emitEvent, type EmittedEvent } from './events.js';

const DEFAULT_LOW_BALANCE_THRESHOLD = 50;

/** Below this many available credits an account hears `balance.low` (LAVENDLY_LOW_BALANCE_THRESHOLD). */
export function lowBalanceThreshold(env: NodeJS.ProcessEnv): number {
  const value = Number(env.LAVENDLY_LOW_BALANCE_THRESHOLD ?? DEFAULT_LOW_BALANCE_THRESHOLD);
  return Number.isFinite(value) && value >= 0 ? value : DEFAULT_LOW_BALANCE_THRESHOLD;
}

export interface BalanceChange {
  accountId: string;
  /** Available credits before and after the change, as the ledger computed them in `trx`. */
  availableBefore: number;
  availableAfter: number;
  /** `settings.lowBalanceThreshold` (default 50). */
  threshold?: number;
}

/**
 * For the ledger to call inside the transaction that moved the money: emits `balance.low` when
 * the available amount crosses the threshold downwards, once per crossing (not on every charge
 * while it stays low), so an integrator can top up before work starts failing.
 */
export async function emitBalanceLowIfCrossed(trx: Knex | Knex.Transaction, change: BalanceChange): Promise<EmittedEvent | null> {
  const threshold = change.threshold ?? DEFAULT_LOW_BALANCE_THRESHOLD;
  if (!(change.availableBefore >= threshold && change.availableAfter < threshold)) return null;
  return emitEvent(trx, {
    accountId: change.accountId,
    type: 'balance.low',
    payload: { account_id: change.accountId, available: change.availableAfter, threshold },
  });
}
