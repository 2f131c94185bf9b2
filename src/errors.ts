/**
 * Domain errors: what domain code (workflows, ledger, assets, ...) throws when a request cannot be
 * carried out. Each carries a code the spec declares (`ErrorCode`, generated from the spec's
 * ErrorCode schema) and machine-readable details; none knows about HTTP. Only the HTTP edge
 * (src/http/errors.ts, through the framework's envelope) turns a code into a status and headers.
 */
import type { ErrorCode } from '../generated/errors.gen.js';

export type { ErrorCode };

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra machine-readable fields a client is shown beside code and message. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, id: string) {
    super('not_found', `No ${what} with id '${id}' exists in this account.`, { resource: what, id });
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('conflict', message, details);
  }
}

export class InsufficientCreditsError extends DomainError {
  constructor(needed: number, available: number) {
    super('insufficient_credits', `This needs ${needed} credits but only ${available} are available.`, { needed, available });
  }
}

export class PreconditionFailedError extends DomainError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('precondition_failed', message, details);
  }
}

/** Too much at once; `retry_after` (seconds) tells the caller when to try again. */
export class TooManyRequestsError extends DomainError {
  constructor(readonly retryAfterS: number, what: string) {
    super('rate_limited', `${what}; retry in ${retryAfterS} s.`, { retry_after: retryAfterS });
  }
}

export type ValidationLocation = 'path' | 'query' | 'header' | 'body';

export interface ValidationIssue {
  path: (string | number)[];
  message: string;
  code: string;
}

/** Invalid input, with the issues grouped by where in the request they were found. */
export class ValidationError extends DomainError {
  constructor(issues: Partial<Record<ValidationLocation, ValidationIssue[]>>, message?: string) {
    const where = Object.keys(issues).join(', ');
    super('validation_error', message ?? `The request is invalid (see issues in: ${where}).`, { issues });
  }
}
