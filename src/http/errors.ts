/**
 * Lavendly's errors at the HTTP edge, on @lavendly/framework's. Domain code throws DomainErrors
 * (src/errors.ts), which know a code but no status; the spec's code table (generated/errors.gen.ts)
 * is registered with the framework, which maps a code to its status, and a translator turns
 * domain errors into the framework's ApiError wherever the envelope is rendered. This module adds
 * what is Lavendly's own: an ApiError whose code must be one the spec declares (a compile error
 * otherwise), and the 401/403/429 errors in Lavendly's words. The model is tRPC's getHTTPStatusCode.
 */
import { ApiError as FrameworkApiError, defineErrorCodes, translateErrors } from '@lavendly/framework';
import { errorStatusByCode, type ErrorCode } from '../../generated/errors.gen.js';
import { DatabaseUnavailableError, isDatabaseUnavailable } from '../db/unavailable.js';
import { DomainError } from '../errors.js';
import { DiskFullError, isDiskFull } from '../util/disk-full.js';

export { ConflictError, DomainError, NotFoundError, ValidationError } from '../errors.js';

// Code -> HTTP status, generated from the spec's ErrorCode schema (the one list of codes).
defineErrorCodes(errorStatusByCode);

export type { ErrorCode };

/** The framework's error with its status and headers, for a code the spec declares. */
export class ApiError extends FrameworkApiError {
  declare readonly code: ErrorCode;
  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    /** Response headers that belong with this error (Retry-After, Allow, ...). */
    headers: Record<string, string> = {},
  ) {
    super(code, message, details, headers);
    this.name = new.target.name;
  }
}

/**
 * A domain error as the edge answers it: the status from the code table, and the headers its
 * details imply (`retry_after` -> Retry-After).
 */
export function httpErrorOf(err: DomainError): ApiError {
  const headers: Record<string, string> = {};
  if (err.code === 'unauthorized') Object.assign(headers, UNAUTHORIZED_HEADERS);
  if (typeof err.details.retry_after === 'number') headers['Retry-After'] = String(err.details.retry_after);
  const api = new ApiError(err.code, err.message, err.details, headers);
  api.stack = err.stack;
  return api;
}

translateErrors((err) => (err instanceof DomainError ? httpErrorOf(err) : null));
// A database outage is the server's, and passes: 503 with Retry-After, not a 500 (src/db/unavailable.ts).
translateErrors((err) => (isDatabaseUnavailable(err) ? httpErrorOf(new DatabaseUnavailableError(err)) : null));
// So is a full disk (SQLITE_FULL, ENOSPC, PostgreSQL's disk_full): 503 until space is freed (src/util/disk-full.ts).
translateErrors((err) => (isDiskFull(err) ? httpErrorOf(new DiskFullError(err)) : null));

const UNAUTHORIZED_HEADERS = { 'WWW-Authenticate': 'Bearer realm="lavendly"' };

export class UnauthorizedError extends ApiError {
  constructor(message = 'A valid API key is required: send `Authorization: Bearer <key>`.') {
    // A copy per error: /mcp adds its OAuth challenge to these headers (mcpAuthChallenge).
    super('unauthorized', message, {}, { ...UNAUTHORIZED_HEADERS });
  }
}

export class ForbiddenError extends ApiError {
  constructor(missingScopes: string[], who = 'This API key') {
    super('forbidden', `${who} lacks the scope(s) this operation needs: ${missingScopes.join(', ')}.`, {
      required_scopes: missingScopes,
    });
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
