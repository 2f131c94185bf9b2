/**
 * The error envelope `{ error: { code, message, request_id, ...details } }` and the one function that
 * turns anything thrown into it: ApiErrors as they are, an app's own errors through its
 * translators (`translateErrors`), zod and http-errors by their shape. Anything else is an
 * internal error: a bare 500 whose detail stays in the log.
 */
import type Koa from 'koa';
import { ApiError, codeForStatus, isRegisteredCode, translated, ValidationError } from './errors.js';
import { toIssues } from './issues.js';

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

function isZodError(err: unknown): err is { issues: { path: PropertyKey[]; message: string; code: string }[] } {
  return typeof err === 'object' && err !== null && (err as { name?: string }).name === 'ZodError' && Array.isArray((err as { issues?: unknown }).issues);
}

/** The error a client may see, or null for an internal error. */
export function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  const own = translated(err);
  if (own) return own;
  if (isZodError(err)) return new ValidationError({ body: toIssues(err.issues) });
  const h = err as HttpishError | null;
  const status = h?.status ?? h?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && h?.expose !== false) {
    if (status === 413 || h?.type === 'entity.too.large') return new ApiError('payload_too_large', 'The request body is larger than this server accepts.');
    if (status === 415 || h?.type === 'encoding.unsupported' || h?.type === 'charset.unsupported') {
      return new ApiError('unsupported_media_type', 'The request body encoding or charset is not supported; send UTF-8 JSON.');
    }
    if (status === 400) return new ValidationError({ body: [{ path: [], message: h?.message ?? 'Bad request', code: h?.type ?? 'bad_request' }] });
    // Other statuses keep their meaning through the first registered code with that status.
    const code = codeForStatus(status);
    if (code) return new ApiError(code, h?.message ?? code);
  }
  return null;
}

/** Response headers that describe the request rather than the result, so they survive an error. */
const KEEP_ON_ERROR = new Set(['x-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'access-control-allow-origin', 'access-control-expose-headers', 'vary']);

export function envelopeFor(err: ApiError, requestId: string): ErrorEnvelope {
  // code, message and request_id first (as people read them) and never overridden by `details`.
  const fixed = { code: err.code, message: err.message, request_id: requestId };
  return { error: Object.assign({ ...fixed }, err.details, fixed) };
}

export type InternalErrorLogger = (err: unknown, ctx: Koa.Context) => void;

const logToStderr: InternalErrorLogger = (err, ctx) => console.error(`internal error on ${ctx.method} ${ctx.path}:`, err);

/** Renders any thrown value onto the response as the envelope. */
export function renderError(ctx: Koa.Context, err: unknown, logInternal: InternalErrorLogger = logToStderr): ApiError {
  const requestId = (ctx.state as { requestId?: string }).requestId ?? 'unknown';
  let apiError = toApiError(err);
  if (!apiError) {
    logInternal(err, ctx);
    apiError = new ApiError('internal_error', 'Something went wrong on our side; the request id identifies it in our logs.');
  } else if (!isRegisteredCode(apiError.code)) {
    // The client sees a 500 with the app's code; without this line the server would say nothing
    // of why an error meant as a 4xx became one.
    logInternal(new Error(`error code "${apiError.code}" has no status, so it answered 500: register it with defineErrorCodes({ ${apiError.code}: 409 }) (or its status)`), ctx);
  }
  // Anything set by a failed handler (headers, partial body) must not leak into the envelope.
  for (const name of Object.keys(ctx.response.headers)) if (!KEEP_ON_ERROR.has(name.toLowerCase())) ctx.remove(name);
  ctx.status = apiError.status;
  ctx.set(apiError.headers);
  ctx.body = envelopeFor(apiError, requestId);
  return apiError;
}
