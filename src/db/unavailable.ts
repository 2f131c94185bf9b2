/**
 * The database failing, as opposed to a query being wrong: it cannot be reached, drops the
 * connection, is restarting or out of connections, or (SQLite) another process held the write lock
 * past the busy deadline. None of that is the caller's doing and all of it passes, so a request
 * meeting it answers 503 `unavailable` with Retry-After, not 500. The outage itself is logged
 * once by DatabaseHealth; the message a client reads names no address.
 */
import { DomainError } from '../errors.js';
import { isSocketFailure } from '../net/socket-errors.js';
import { isBusy } from './sqlite-busy.js';

/** Long enough for a restarted PostgreSQL to take connections again. */
const RETRY_AFTER_S = 5;

export class DatabaseUnavailableError extends DomainError {
  constructor(cause: unknown) {
    super('unavailable', 'The database is unavailable right now; try again in a few seconds.', { retry_after: RETRY_AFTER_S });
    this.cause = cause;
  }
}

/**
 * PostgreSQL's SQLSTATEs for a server that is going or not there yet: class 08 (connection
 * exception), 57P01-57P03 (terminated by an administrator, crash shutdown, cannot connect now:
 * starting up or shutting down) and 53300 (too many connections).
 */
function isPgOutage(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

/**
 * pg's own errors for a connection that went away or never opened carry no code, only these
 * messages (knex puts the failed SQL and ' - ' before them); knex's pool reports a connection it
 * could not get in time as a KnexTimeoutError.
 */
const DROPPED = /(^| - )(Connection terminated|Client has encountered a connection error|Connection ended)/;

export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  if (err.name === 'KnexTimeoutError') return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return isSocketFailure(code) || isPgOutage(code) || isBusy(err);
  return DROPPED.test(err.message);
}

/**
 * The driver's words for an outage, for the log: knex puts the failed SQL, its values filled in,
 * before them, and those values (an email, a key's hash) have no place in a log line.
 */
export function outageReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.slice(message.lastIndexOf(' - ') + 1).replace(/^- /, '');
}
