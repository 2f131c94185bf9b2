import type { LedgerHandlers } from '../generated/handlers.gen.js';
import type { AppContext } from '../src/http/context.js';
import { stubSlice } from './stub.js';

/** STUB: every ledger operation answers 501 not_implemented until its owner replaces this module. */
export const ledgerHandlers = stubSlice(['get_ledger', 'reserve_credits', 'commit_reserve', 'refund_reserve']) satisfies LedgerHandlers<AppContext>;
