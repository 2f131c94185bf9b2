/**
 * One error type for everything a client may be told. Handlers and services throw these; one
 * middleware renders them into the envelope `{ error: { code, message, request_id, ...extra } }`.
 * Anything else that escapes is an internal error: logged with its cause, never shown.
 */
export const statusByCode = {
  validation_error: 400,
  /** Not HTTP/1.1 at all (src/http/client-error.ts): bad request line or headers, a body shorter than announced. */
  malformed_request: 400,
  invalid_cursor: 400,
  invalid_idempotency_key: 400,
  unauthorized: 401,
  /** Console sign-in (src/http/console): wrong email or password, the same answer for both. */
  invalid_credentials: 401,
  insufficient_credits: 402,
  forbidden: 403,
  /** A console session's unsafe request without its X-CSRF-Token, or any cookie request from another origin. */
  csrf_failed: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_key_reused: 409,
  idempotency_key_in_progress: 409,
  workflow_busy: 409,
  request_timeout: 408,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  headers_too_large: 431,
  rate_limited: 429,
  internal_error: 500,
  not_implemented: 501,
  upstream_error: 502,
  unavailable: 503,
  // generation (src/generation)
  nothing_to_generate: 409,
  generation_in_progress: 409,
  // audio, renders and review
  asset_not_audio: 400,
  model_not_available: 400,
  not_generated: 409,
  render_in_progress: 409,
  // publishing
  no_finished_render: 409,
  schedule_in_past: 400,
  schedule_too_far: 400,
  not_cancelable: 409,
  // assets, uploads and stored files (codes as named in spec/openapi.yaml)
  url_not_allowed: 400,
  source_unreachable: 400,
  upload_token_invalid: 403,
  upload_completed: 409,
  asset_too_large: 413,
  duration_too_long: 413,
  storage_quota_exceeded: 413,
  range_not_satisfiable: 416,
} as const;

export type ErrorCode = keyof typeof statusByCode;

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
