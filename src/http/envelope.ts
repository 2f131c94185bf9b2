import type Koa from 'koa';
import type { Logger } from 'pino';
import { CORS_RESPONSE_HEADERS } from './cors.js';
import { ApiError, DomainError, httpErrorOf, statusByCode, ValidationError, toIssue, type ErrorCode } from './errors.js';

export interface ErrorEnvelope {
  error: { code: string; message: string; request_id: string; [extra: string]: unknown };
}

interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
}

interface ZodishError {
  name: string;
  issues: { path: PropertyKey[]; message: string; code: string }[];
}

function isZodError(err: unknown): err is ZodishError {
  return typeof err === 'object' && err !== null && (err as { name?: string }).name === 'ZodError'
    && Array.isArray((err as { issues?: unknown }).issues);
}

/** The first code of the table with this status, so http-errors statuses keep their meaning. */
function codeForStatus(status: number): ErrorCode | null {
  for (const [code, s] of Object.entries(statusByCode)) if (s === status) return code as ErrorCode;
  return null;
}

/**
 * Turns anything thrown into the error a client may see, or null when it is an internal error
 * (whose detail must stay in the log).
 */
export function toApiError(err: unknown): ApiError | null {
  if (err instanceof DomainError) return httpErrorOf(err);
  if (isZodError(err)) return httpErrorOf(new ValidationError({ body: err.issues.map(toIssue) }));
  const h = err as HttpishError | null;
  const status = h?.status ?? h?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && h?.expose !== false) {
    if (status === 413 || h?.type === 'entity.too.large') {
      return new ApiError('payload_too_large', 'The request body is larger than this server accepts.');
    }
    if (status === 415 || h?.type === 'encoding.unsupported' || h?.type === 'charset.unsupported') {
      return new ApiError('unsupported_media_type', 'The request body encoding or charset is not supported; send UTF-8 JSON.');
    }
    if (status === 400) {
      return httpErrorOf(new ValidationError({ body: [{ path: [], message: h?.message ?? 'Bad request', code: h?.type ?? 'bad_request' }] }));
    }
    const code = codeForStatus(status);
    if (code) return new ApiError(code, h?.message ?? code);
  }
  return null;
}

/** Response headers that describe the request rather than the result, so they survive an error. */
const KEEP_ON_ERROR = new Set(['x-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', ...CORS_RESPONSE_HEADERS]);

export function envelopeFor(err: ApiError, requestId: string): ErrorEnvelope {
  return { error: { code: err.code, message: err.message, request_id: requestId, ...err.details } };
}

/**
 * Renders any thrown value onto the response as the envelope. Unknown errors are logged with
 * their cause and become a bare 500 `internal_error`.
 */
export function renderError(ctx: Koa.Context, err: unknown, logger: Logger): ApiError {
  const requestId = (ctx.state as { requestId?: string }).requestId ?? 'unknown';
  let apiError = toApiError(err);
  if (!apiError) {
    logger.error({ err, request_id: requestId, method: ctx.method, path: ctx.path }, 'internal error');
    apiError = new ApiError('internal_error', 'Something went wrong on our side; the request id identifies it in our logs.');
  }
  // Anything set by a failed handler (headers, partial body) must not leak into the envelope.
  for (const name of Object.keys(ctx.response.headers)) if (!KEEP_ON_ERROR.has(name.toLowerCase())) ctx.remove(name);
  ctx.status = apiError.status;
  ctx.set(apiError.headers);
  ctx.body = envelopeFor(apiError, requestId);
  return apiError;
}
