/**
 * The errors a client may be told about, and the table from error code to HTTP status. The
 * framework knows the codes it raises itself; an app adds its own with `defineErrorCodes` (the
 * generator emits that call from the spec's code table). Only the HTTP edge reads `status`.
 */
export const frameworkErrorCodes = {
  validation_error: 400,
  invalid_cursor: 400,
  invalid_idempotency_key: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_key_reused: 409,
  idempotency_key_in_progress: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  not_implemented: 501,
} as const satisfies Record<string, number>;

export type FrameworkErrorCode = keyof typeof frameworkErrorCodes;

/** Null prototype: a code named `constructor` or `__proto__` is a plain key, never inherited. */
const statusTable: Record<string, number> = Object.assign(Object.create(null) as Record<string, number>, frameworkErrorCodes);

/** Registers an app's codes (code -> status) beside the framework's; returns the table it was given. */
export function defineErrorCodes<T extends Record<string, number>>(table: T): T {
  for (const [code, status] of Object.entries(table)) {
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new Error(`error code "${code}": status ${status} is not a 4xx or 5xx`);
    statusTable[code] = status;
  }
  return table;
}

/** The status of a code; an unregistered code is an internal error (500). */
export function statusOf(code: string): number {
  return statusTable[code] ?? 500;
}

/** Whether `code` has a status of its own (the framework's or one `defineErrorCodes` gave it). */
export function isRegisteredCode(code: string): boolean {
  return code in statusTable;
}

/** The first registered code with this status (the framework's before an app's), or null. */
export function codeForStatus(status: number): string | null {
  for (const code in statusTable) if (statusTable[code] === status) return code;
  return null;
}

/**
 * Turns an app's own error (say a domain error that carries a code but no status) into the
 * ApiError a client sees, or answers null to pass. Registered with `translateErrors`.
 */
export type ErrorTranslator = (err: unknown) => ApiError | null | undefined;

const translators: ErrorTranslator[] = [];

/**
 * Teaches the envelope (and the idempotency layer, which stores 4xx answers) an app's error
 * classes, so domain code may throw errors that know nothing of HTTP. Translators run in the
 * order registered, only for thrown values that are not already an ApiError.
 */
export function translateErrors(translator: ErrorTranslator): void {
  translators.push(translator);
}

/** The first registered translation of `err`, or null. */
export function translated(err: unknown): ApiError | null {
  for (const translate of translators) {
    const api = translate(err);
    if (api) return api;
  }
  return null;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: string,
    message: string,
    /** Extra machine-readable fields placed beside code and message in the envelope. */
    readonly details: Record<string, unknown> = {},
    /** Response headers that belong with this error (Retry-After, Allow, ...). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = statusOf(code);
  }
}

export type ValidationLocation = 'path' | 'query' | 'header' | 'body';

export interface ValidationIssue {
  path: (string | number)[];
  message: string;
  code: string;
}

export type IssuesByLocation = Partial<Record<ValidationLocation, ValidationIssue[]>>;

/** Invalid input, its issues grouped by where in the request they were found. */
export class ValidationError extends ApiError {
  constructor(readonly issues: IssuesByLocation, message?: string) {
    super('validation_error', message ?? `The request is invalid (see issues in: ${Object.keys(issues).join(', ')}).`, { issues });
  }
}

export class NotFoundError extends ApiError {
  constructor(what: string, id: string) {
    super('not_found', `No ${what} with id '${id}' exists.`, { resource: what, id });
  }
}

export class UnauthorizedError extends ApiError {
  constructor(message = 'Valid credentials are required.', realm = 'api') {
    super('unauthorized', message, {}, { 'WWW-Authenticate': `Bearer realm="${realm}"` });
  }
}

export class ForbiddenError extends ApiError {
  constructor(missingScopes: string[]) {
    super('forbidden', `These credentials lack the scope(s) this operation needs: ${missingScopes.join(', ')}.`, { required_scopes: missingScopes });
  }
}

export class RateLimitedError extends ApiError {
  /** `what` names what was too much ('Too many requests for this key'). */
  constructor(retryAfterS: number, headers: Record<string, string> = {}, what = 'Too many requests') {
    super('rate_limited', `${what}; retry in ${retryAfterS} s.`, { retry_after: retryAfterS }, { ...headers, 'Retry-After': String(retryAfterS) });
  }
}

export class NotImplementedError extends ApiError {
  constructor(operationId: string) {
    super('not_implemented', `The operation '${operationId}' is not implemented on this server yet.`, { operation_id: operationId });
  }
}

export function toIssue(issue: { path: readonly PropertyKey[]; message: string; code: string }): ValidationIssue {
  return { path: issue.path.map((p) => (typeof p === 'number' ? p : String(p))), message: issue.message, code: issue.code };
}
