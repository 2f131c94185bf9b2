/**
 * The errors the SDK throws: one class per kind of failure, built from the API's error envelope.
 * Part of the SDK runtime (see index.ts): only web-standard globals (fetch, Web Crypto) and sibling files may be used.
 */
import { retryAfterMs } from './retry-after.js';

export interface ValidationIssue {
  path: (string | number)[];
  message: string;
  code?: string;
  [key: string]: unknown;
}

/** Every error the SDK throws. `status` is 0 when no HTTP response was received. */
export class LavendlyError extends Error {
  /**
   * The class's name, written out in each class (not `new.target.name`): a user's bundler that
   * renames classes when it minifies would otherwise make it `e`. A subclass of your own that
   * does not set it gets its class's name.
   */
  override name = 'LavendlyError';
  readonly status: number;
  readonly code: string;
  readonly requestId: string | null;
  /** Every field of the error envelope besides code, message and request_id. */
  readonly details: Record<string, unknown>;
  readonly headers: Headers | null;
  constructor(
    message: string,
    init: { status?: number; code?: string; requestId?: string | null; details?: Record<string, unknown>; headers?: Headers | null; cause?: unknown } = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    if (new.target !== LavendlyError) this.name = new.target.name; // the subclasses below then set theirs
    this.status = init.status ?? 0;
    this.code = init.code ?? 'unknown_error';
    this.requestId = init.requestId ?? null;
    this.details = init.details ?? {};
    this.headers = init.headers ?? null;
  }
}

/** 400/422: the request did not validate. `issues` are grouped by location (path, query, header, body). */
export class ValidationError extends LavendlyError {
  override name = 'ValidationError';
  get issues(): Record<string, ValidationIssue[]> {
    const raw = this.details['issues'];
    if (Array.isArray(raw)) return { body: raw as ValidationIssue[] };
    return raw && typeof raw === 'object' ? (raw as Record<string, ValidationIssue[]>) : {};
  }
  /** The issues as one list, each tagged with its location. */
  get issueList(): (ValidationIssue & { location: string })[] {
    // A location whose value is not a list (a proxy's or another server's envelope) has no issues to list.
    return Object.entries(this.issues).flatMap(([location, list]) => (Array.isArray(list) ? list : []).map((i) => ({ ...i, location })));
  }
}
export class AuthenticationError extends LavendlyError {
  override name = 'AuthenticationError';
}
export class PermissionError extends LavendlyError {
  override name = 'PermissionError';
}
export class NotFoundError extends LavendlyError {
  override name = 'NotFoundError';
}
export class ConflictError extends LavendlyError {
  override name = 'ConflictError';
}
/** The idempotency key was reused with another body, is still in flight, or is malformed. */
export class IdempotencyError extends LavendlyError {
  override name = 'IdempotencyError';
}
export class InsufficientCreditsError extends LavendlyError {
  override name = 'InsufficientCreditsError';
  get needed(): number | undefined {
    return typeof this.details['needed'] === 'number' ? this.details['needed'] : undefined;
  }
  get available(): number | undefined {
    return typeof this.details['available'] === 'number' ? this.details['available'] : undefined;
  }
}
export class RateLimitError extends LavendlyError {
  override name = 'RateLimitError';
  /** Seconds the server asked us to wait, when it said. */
  get retryAfter(): number | undefined {
    const ms = retryAfterMs(this.headers);
    return ms === undefined ? undefined : ms / 1000;
  }
}
export class ServerError extends LavendlyError {
  override name = 'ServerError';
}
/**
 * A success status whose body is not what the API documents: not JSON (a proxy's or captive
 * portal's HTML page), truncated JSON (`invalid_response`), larger than `maxResponseBytes`
 * (`response_too_large`), or holding a number beyond a double such as 1e400 (`number_out_of_range`,
 * `details.path`; JSON.parse would make it Infinity). Never returned as if it were the API's answer.
 * (In an error answer such a number is kept as its literal text, a string: the error keeps its
 * class, code and message.)
 */
export class InvalidResponseError extends LavendlyError {
  override name = 'InvalidResponseError';
}
/** No usable HTTP response: DNS, refused or reset connection, timeout. */
export class ConnectionError extends LavendlyError {
  override name = 'ConnectionError';
}
export class TimeoutError extends ConnectionError {
  override name = 'TimeoutError';
}
/** `waitFor…` gave up before the job reached a terminal state. `last` is the last polled body. */
export class WaitTimeoutError extends LavendlyError {
  override name = 'WaitTimeoutError';
  constructor(
    message: string,
    readonly last: unknown,
  ) {
    super(message, { code: 'wait_timeout' });
  }
}

/** The class for codes every API built on this runtime shares; a generated client passes its own table. */
const errorClassByCode: Readonly<Record<string, typeof LavendlyError>> = {
  validation_error: ValidationError,
  invalid_cursor: ValidationError,
  unauthorized: AuthenticationError,
  forbidden: PermissionError,
  not_found: NotFoundError,
  conflict: ConflictError,
  idempotency_key_reused: IdempotencyError,
  idempotency_key_in_progress: IdempotencyError,
  invalid_idempotency_key: IdempotencyError,
  insufficient_credits: InsufficientCreditsError,
  rate_limited: RateLimitError,
};

function errorClassByStatus(status: number): typeof LavendlyError {
  if (status === 400 || status === 422) return ValidationError;
  if (status === 401) return AuthenticationError;
  if (status === 402) return InsufficientCreditsError;
  if (status === 403) return PermissionError;
  if (status === 404) return NotFoundError;
  if (status === 409) return ConflictError;
  if (status === 429) return RateLimitError;
  if (status >= 500) return ServerError;
  return LavendlyError;
}

/** Builds the typed error for a non-2xx response from its (parsed) body. */
export function errorFromResponse(
  status: number,
  headers: Headers,
  body: unknown,
  classByCode: Readonly<Record<string, typeof LavendlyError>> = errorClassByCode,
): LavendlyError {
  const envelope = body && typeof body === 'object' && 'error' in body ? (body as { error: unknown }).error : undefined;
  const e = envelope && typeof envelope === 'object' ? (envelope as Record<string, unknown>) : {};
  const { code, message, request_id, ...details } = e;
  const codeStr = typeof code === 'string' ? code : `http_${status}`;
  const cls = Object.prototype.hasOwnProperty.call(classByCode, codeStr) ? classByCode[codeStr]! : errorClassByStatus(status);
  const text = typeof message === 'string' ? message : fallbackMessage(status, headers, body);
  const requestId = typeof request_id === 'string' ? request_id : headers.get('x-request-id');
  if (!envelope && body !== undefined && body !== '') details['body'] = body;
  return new cls(text, { status, code: codeStr, requestId, details, headers });
}

/**
 * The message of an answer without the API's error envelope (a proxy's HTML page, plain text, a
 * redirect): the status first, then what little the body says, markup and whitespace squeezed out.
 */
function fallbackMessage(status: number, headers: Headers, body: unknown): string {
  const location = status >= 300 && status < 400 ? headers.get('location') : null;
  if (location) return `HTTP ${status}: redirected to ${location.slice(0, 200)}, which the SDK does not follow (set baseUrl to the final address)`;
  if (typeof body !== 'string') return `HTTP ${status}`;
  // A bounded prefix: the regexes below must not see a huge body.
  const text = body
    .slice(0, 4000)
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return text ? `HTTP ${status}: ${text.slice(0, 200)}` : `HTTP ${status}`;
}
