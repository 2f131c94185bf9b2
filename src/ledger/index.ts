export {
  grant, reserve, commit, release, expireReservations, getBalance, getReservation, listEntries,
  type LedgerEntry, type Reservation,
} from './ledger.js';
export { assertInvariants, checkInvariants } from './invariants.js';
export {
  InsufficientCreditsError, ReservationNotOpenError, ReservationNotFoundError, CommitExceedsReservationError,
} from './errors.js';
