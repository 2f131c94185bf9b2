/**
 * One error type for everything a client may be told. Handlers and services throw these; one
 * middleware renders them into the envelope `{ error: { code, message, request_id, ...extra } }`.
 * Anything else that escapes is an internal error: logged with its cause, never shown.
 */
import { errorStatusByCode, type ErrorCode } from '../../generated/errors.gen.js';

/** Code -> HTTP status, generated from the spec's ErrorCode schema (the one list of codes). */
export const statusByCode: Readonly<Record<ErrorCode, number>> = errorStatusByCode;

export type { ErrorCode };

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra machine-readable fields placed beside code and message in the envelope. */
    readonly extra: Record<string, unknown> = {},
    /** Response headers that belong with this error (Retry-After, Allow, ...). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = statusByCode[code];
  }
}

export class NotFoundError extends ApiError {
  constructor(what: string, id: string) {
    super('not_found', `No ${what} with id '${id}' exists in this account.`, { resource: what, id });
  }
}

export class ConflictError extends ApiError {
  constructor(message: string, extra: Record<string, unknown> = {}) {
    super('conflict', message, extra);
  }
}

export class InsufficientCreditsError extends ApiError {
  constructor(needed: number, available: number) {
    super(
      'insufficient_credits',
      `This needs ${needed} credits but only ${available} are available.`,
      { needed, available },
    );
  }
}

export type ValidationLocation = 'path' | 'query' | 'header' | 'body';

export interface ValidationIssue {
  path: (string | number)[];
  message: string;
  code: string;
}

/** Invalid input, with the zod issues grouped by where in the request they were found. */
export class ValidationError extends ApiError {
  constructor(issues: Partial<Record<ValidationLocation, ValidationIssue[]>>, message?: string) {
    const where = Object.keys(issues).join(', ');
    super('validation_error', message ?? `The request is invalid (see issues in: ${where}).`, { issues });
  }
}

export class UnauthorizedError extends ApiError {
  constructor(message = 'A valid API key is required: send `Authorization: Bearer <key>`.') {
    super('unauthorized', message, {}, { 'WWW-Authenticate': 'Bearer realm="lavendly"' });
  }
}

export class ForbiddenError extends ApiError {
  constructor(missingScopes: string[], who = 'This API key') {
    super('forbidden', `${who} lacks the scope(s) this operation needs: ${missingScopes.join(', ')}.`, {
      required_scopes: missingScopes,
    });
  }
}

export class PreconditionFailedError extends ApiError {
  constructor(message: string, extra: Record<string, unknown> = {}) {
    super('precondition_failed', message, extra);
  }
}

export class RateLimitedError extends ApiError {
  constructor(retryAfterS: number, headers: Record<string, string>, what = 'Too many requests for this API key') {
    super('rate_limited', `${what}; retry in ${retryAfterS} s.`, { retry_after: retryAfterS }, {
      ...headers,
      'Retry-After': String(retryAfterS),
    });
  }
}

export class NotImplementedError extends ApiError {
  constructor(operationId: string) {
    super('not_implemented', `The operation '${operationId}' is not implemented on this server yet.`, {
      operation_id: operationId,
    });
  }
}

/** Builds a ValidationError from zod issues found at one location of the request. */
export function validationErrorFrom(
  location: ValidationLocation,
  issues: readonly { path: readonly PropertyKey[]; message: string; code: string }[],
): ValidationError {
  return new ValidationError({ [location]: issues.map(toIssue) });
}

export function toIssue(issue: { path: readonly PropertyKey[]; message: string; code: string }): ValidationIssue {
  return {
    path: issue.path.map((p) => (typeof p === 'number' ? p : String(p))),
    message: issue.message,
    code: issue.code,
  };
}
