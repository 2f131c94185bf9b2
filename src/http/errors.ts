/**
 * The HTTP edge of errors. Domain code throws DomainErrors (src/errors.ts), which know a code but
 * no status; this module maps a code to its status through the table generated from the spec
 * (generated/errors.gen.ts), and adds the HTTP-only errors (401 with WWW-Authenticate, 429 with
 * rate-limit headers, ...). One middleware renders them into the envelope
 * `{ error: { code, message, request_id, ...details } }` (src/http/envelope.ts). Anything else
 * that escapes is an internal error: logged with its cause, never shown.
 */
import { errorStatusByCode, type ErrorCode } from '../../generated/errors.gen.js';
import { DomainError } from '../errors.js';

export {
  ConflictError,
  DomainError,
  InsufficientCreditsError,
  NotFoundError,
  PreconditionFailedError,
  toIssue,
  ValidationError,
  validationErrorFrom,
  type ValidationIssue,
  type ValidationLocation,
} from '../errors.js';

/** Code -> HTTP status, generated from the spec's ErrorCode schema (the one list of codes). */
export const statusByCode: Readonly<Record<ErrorCode, number>> = errorStatusByCode;

export type { ErrorCode };

/** An error with its HTTP status and the response headers that belong with it. */
export class ApiError extends DomainError {
  readonly status: number;
  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    /** Response headers that belong with this error (Retry-After, Allow, ...). */
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message, details);
    this.status = statusByCode[code];
  }
}

/**
 * A domain error as the edge answers it: the status from the code table, and the headers its
 * details imply (`retry_after` -> Retry-After). The model is tRPC's getHTTPStatusCode.
 */
export function httpErrorOf(err: DomainError): ApiError {
  if (err instanceof ApiError) return err;
  const headers: Record<string, string> = {};
  if (err.code === 'unauthorized') Object.assign(headers, UNAUTHORIZED_HEADERS);
  if (typeof err.details.retry_after === 'number') headers['Retry-After'] = String(err.details.retry_after);
  const api = new ApiError(err.code, err.message, err.details, headers);
  api.stack = err.stack;
  return api;
}

const UNAUTHORIZED_HEADERS = { 'WWW-Authenticate': 'Bearer realm="lavendly"' };

export class UnauthorizedError extends ApiError {
  constructor(message = 'A valid API key is required: send `Authorization: Bearer <key>`.') {
    super('unauthorized', message, {}, UNAUTHORIZED_HEADERS);
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

export class NotImplementedError extends ApiError {
  constructor(operationId: string) {
    super('not_implemented', `The operation '${operationId}' is not implemented on this server yet.`, {
      operation_id: operationId,
    });
  }
}
