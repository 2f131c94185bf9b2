import { DomainError, ConflictError, InsufficientCreditsError, NotFoundError } from '../errors.js';

export { InsufficientCreditsError };

/** The reservation was already committed, released or expired: someone else resolved it first. */
export class ReservationNotOpenError extends ConflictError {
  constructor(readonly reservationId: string, readonly reservationStatus: string) {
    super(`Reservation '${reservationId}' is already ${reservationStatus}.`, {
      reservation_id: reservationId,
      status: reservationStatus,
    });
    this.name = 'ReservationNotOpenError';
  }
}

export class ReservationNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('reservation', id);
    this.name = 'ReservationNotFoundError';
  }
}

/** Asked to charge more than the reservation holds. */
export class CommitExceedsReservationError extends DomainError {
  constructor(reservationId: string, requested: number, reserved: number) {
    super(
      'unprocessable',
      `Cannot commit ${requested} credits: reservation '${reservationId}' holds only ${reserved}.`,
      { reservation_id: reservationId, requested, reserved },
    );
    this.name = 'CommitExceedsReservationError';
  }
}

export function invalidAmount(field: string, value: unknown, min: number): DomainError {
  return new DomainError('validation_error', `${field} must be an integer >= ${min} (got ${String(value)}).`, {
    field,
  });
}
