export {
  grant, reserve, commit, release, expireReservations, getBalance, getReservation, listEntries,
  inTransaction, DEFAULT_RESERVATION_TTL_S,
  type LedgerEntry, type Reservation, type Balance, type ReserveOptions, type Resolution,
  type EntryKind, type ReservationStatus, type EntryPage,
} from './ledger.js';
export { assertInvariants, checkInvariants } from './invariants.js';
export {
  InsufficientCreditsError, ReservationNotOpenError, ReservationNotFoundError, CommitExceedsReservationError,
} from './errors.js';
