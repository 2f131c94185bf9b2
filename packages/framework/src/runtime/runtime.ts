/**
 * `createRuntime(options)`: the `RouteRuntime<Ctx>` that generated routes plug into. Per request,
 * in order: authentication hook, rate-limit hook, body reader (415/413/400), idempotency for
 * `x-idempotent` operations, then parsing by location, the handler, and the answer.
 */
import type Koa from 'koa';
import { DEFAULT_JSON_LIMIT, bareMediaType, readBody, requestHasBody, type BodyState } from './body.js';
import { ValidationError, type IssuesByLocation, type ValidationIssue, type ValidationLocation } from './errors.js';
import { decodeForm } from './form.js';
import { toIssues } from './issues.js';
import { IDEMPOTENCY_HEADER, withIdempotency, type IdempotencyLayerOptions } from './idempotency.js';
import { FAST_CHECK_NO, type FastCheck, type HandlerResult, type OperationMeta, type OperationValidators, type SchemaLike } from './operation.js';
import { unstorableText } from './text.js';

/** A hook may refuse the request by throwing an ApiError (UnauthorizedError, RateLimitedError...). */
export type RequestHook = (ctx: Koa.Context, meta: OperationMeta) => void | Promise<void>;

export interface RuntimeOptions<Ctx> {
  /** Builds the second argument of every handler from the request (services, the caller...). */
  context: (ctx: Koa.Context, meta: OperationMeta) => Ctx;
  /** Runs first; for `secured` operations it should establish the caller or throw. */
  authenticate?: RequestHook;
  /** Runs after authentication. */
  rateLimit?: RequestHook;
  /** Largest JSON or form body accepted, in bytes (default 1 MiB). */
  jsonBodyLimit?: number;
  /**
   * Enables Idempotency-Key handling for operations marked `x-idempotent`: the store, the tenant
   * a key belongs to (`scope`, e.g. the caller's account), and where lost claims are reported.
   */
  idempotency?: IdempotencyLayerOptions;
  /** Check handler answers against the spec: 'throw' (tests), 'log' (via onResponseMismatch) or 'off' (default). */
  responseValidation?: 'off' | 'log' | 'throw';
  onResponseMismatch?: (operationId: string, status: number, issues: ValidationIssue[]) => void;
  /**
   * Refuse (400, `invalid_text`) NUL characters and unpaired UTF-16 surrogates in every string of
   * the path, query, headers and JSON body, keys included, before any schema or handler sees
   * them (runtime/text.ts says why). Default true.
   */
  refuseUnstorableText?: boolean;
}

/** Thrown when a handler answers off-spec and `responseValidation` is 'throw'. */
export class ResponseValidationError extends Error {
  constructor(readonly operationId: string, readonly status: number, readonly issues: ValidationIssue[]) {
    super(`response of ${operationId} (${status}) does not match the spec: ${JSON.stringify(issues).slice(0, 500)}`);
    this.name = 'ResponseValidationError';
  }
}

export interface FrameworkRuntime<Ctx> {
  operation<I, R extends HandlerResult>(meta: OperationMeta, v: OperationValidators, call: (input: I, ctx: Ctx) => Promise<R>): Koa.Middleware;
}

export function createRuntime<Ctx>(options: RuntimeOptions<Ctx>): FrameworkRuntime<Ctx> {
  const limit = options.jsonBodyLimit ?? DEFAULT_JSON_LIMIT;
  const mode = options.responseValidation ?? 'off';
  const hygiene = options.refuseUnstorableText ?? true;
  return {
    // The one middleware serving an operation, built once at mount time: one Koa layer per
    // operation instead of a chain (each layer costs a promise and a closure per request).
    operation(meta, v, call) {
      const handle = (ctx: Koa.Context) => call(parseInput(ctx, v, hygiene) as Parameters<typeof call>[0], options.context(ctx, meta));
      const answer = (ctx: Koa.Context, result: HandlerResult): void => {
        if (mode !== 'off') checkResponse(meta, v, result, mode, options.onResponseMismatch);
        send(ctx, result);
      };
      const serve = async (ctx: Koa.Context): Promise<void> => answer(ctx, await handle(ctx));
      const idem = meta.idempotent ? options.idempotency : undefined;
      return async (ctx) => {
        (ctx.state as { operationId?: string }).operationId = meta.operationId;
        if (options.authenticate) await options.authenticate(ctx, meta);
        if (options.rateLimit) await options.rateLimit(ctx, meta);
        // Most requests have no body (GET, DELETE): no promise to await for them.
        if (requestHasBody(ctx)) await readBody(ctx, meta, limit, v.forms);
        // Without an Idempotency-Key there is nothing to claim: straight to the handler.
        if (idem && ctx.req.headers[IDEMPOTENCY_HEADER] !== undefined) await withIdempotency(ctx, meta.operationId, idem, () => serve(ctx));
        else answer(ctx, await handle(ctx)); // `serve` inline: one async frame less per request
      };
    },
  };
}

/**
 * The handler input `{ path, query, headers, body }` from a request whose body is already read.
 * Every location is checked, and all their issues reported together in one 400. With
 * `refuseUnstorable` (the default), text no database can store is refused first, whatever the
 * schema says.
 */
export function parseInput(ctx: Koa.Context, v: OperationValidators, refuseUnstorable = true): { path: unknown; query: unknown; headers: unknown; body: unknown } {
  const state = ctx.state as BodyState;
  const issues: IssuesByLocation = {};
  const path = check(issues, 'path', v.path, { ...(ctx as { params?: Record<string, string> }).params }, refuseUnstorable, v.fastPath);
  // No query string (most requests): the empty object Koa would parse, without its parse and cache.
  const query = check(issues, 'query', v.query, ctx.querystring === '' ? {} : { ...ctx.query }, refuseUnstorable, v.fastQuery);
  const headers = check(issues, 'header', v.headers, headersFor(ctx, v.headers), refuseUnstorable, v.fastHeaders);
  // A body whose text the reader found free of anything unstorable skips the walk (body.ts).
  const body = state.streamBody !== undefined
    ? state.streamBody
    : state.formBody !== undefined
      ? formInput(issues, v, state.formBody, refuseUnstorable)
      : check(issues, 'body', v.body, state.hasJsonBody ? state.jsonBody : undefined, refuseUnstorable && state.jsonBodyStorable !== true, v.fastBody);
  if (issues.path || issues.query || issues.header || issues.body) throw new ValidationError(issues);
  return { path, query, headers, body };
}

/**
 * A form body decoded by its plan (form.ts), then checked by the zod validator of its content type,
 * the same the JSON body of that schema gets. Decoding issues (unknown keys, `age=x`) come first.
 */
function formInput(issues: IssuesByLocation, v: OperationValidators, form: { type: string; text: string }, refuseUnstorable: boolean): unknown {
  const decoded = decodeForm(form.text, v.forms![form.type]!);
  if (decoded.issues.length) {
    issues.body = decoded.issues;
    return undefined;
  }
  return check(issues, 'body', bodySchema(v, form.type), decoded.value, refuseUnstorable, null);
}

/** The validator of a declared content type, found whatever its case and parameters in the spec; else the operation's first. */
function bodySchema(v: OperationValidators, type: string): SchemaLike | null | undefined {
  const bodies = v.bodies ?? {};
  if (Object.hasOwn(bodies, type)) return bodies[type];
  return Object.entries(bodies).find(([declared]) => bareMediaType(declared) === type)?.[1] ?? v.body;
}

function check(
  issues: IssuesByLocation, where: ValidationLocation, schema: SchemaLike | null | undefined, value: unknown, refuseUnstorable: boolean,
  fast?: FastCheck | null,
): unknown {
  if (refuseUnstorable) {
    const unstorable = unstorableText(value);
    if (unstorable.length) {
      issues[where] = unstorable;
      return undefined;
    }
  }
  if (!schema) return value;
  // The generated plain check takes valid input for a fraction of zod's cost; zod still decides
  // (and words the error) whenever it says no.
  if (fast) {
    const out = fast(value);
    if (out !== FAST_CHECK_NO) return out;
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  issues[where] = toIssues(r.error.issues);
  return undefined;
}

/** The header names each header schema declares, with their lower-cased lookup names (once per schema). */
const declaredHeaders = new WeakMap<object, [name: string, lower: string][] | null>();

function headerNames(schema: SchemaLike): [name: string, lower: string][] | null {
  let names = declaredHeaders.get(schema);
  if (names === undefined) {
    const shape = (schema as { shape?: Record<string, unknown> }).shape;
    names = shape && typeof shape === 'object' ? Object.keys(shape).map((n) => [n, n.toLowerCase()]) : null;
    declaredHeaders.set(schema, names);
  }
  return names;
}

/**
 * The request's headers for validation. Node lower-cases header names; a generated schema may
 * spell them as the spec does (`Idempotency-Key`), so each declared name is looked up
 * case-insensitively and passed under the schema's own spelling.
 */
function headersFor(ctx: Koa.Context, schema: SchemaLike | null | undefined): Record<string, unknown> {
  const names = schema ? headerNames(schema) : null;
  if (!names) return { ...ctx.headers };
  const out: Record<string, unknown> = {};
  for (const [name, lower] of names) {
    const value = ctx.headers[lower];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function send(ctx: Koa.Context, result: HandlerResult): void {
  if (result.headers) ctx.set(result.headers);
  const body = result.body;
  if (body === undefined || result.status === 204 || result.status === 304) ctx.body = null;
  else if (isPlainJson(body)) {
    // What Koa does with an object body (a JSON Content-Type unless one is set, the text and its
    // Content-Length at respond time), done here at once: Koa's way looks the type up by name and
    // walks its stream and blob checks on every request. The bytes and headers sent are the same.
    if (!/\bjson\b/i.test(ctx.response.type)) ctx.res.setHeader('Content-Type', JSON_TYPE);
    ctx.body = JSON.stringify(body);
  } else ctx.body = body as Koa.Context['body'];
  ctx.status = result.status;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** An object literal or an array: what Koa would answer as JSON (not a Buffer, stream, Blob or Response). */
function isPlainJson(body: unknown): body is object {
  if (typeof body !== 'object' || body === null) return false;
  const proto = Object.getPrototypeOf(body);
  return (proto === Object.prototype || proto === null || Array.isArray(body)) && typeof (body as { pipe?: unknown }).pipe !== 'function';
}

function checkResponse(meta: OperationMeta, v: OperationValidators, result: HandlerResult, mode: 'log' | 'throw', report?: RuntimeOptions<unknown>['onResponseMismatch']): void {
  const issues: ValidationIssue[] = [];
  if (meta.successStatuses.length && !meta.successStatuses.includes(result.status)) {
    issues.push({ path: ['status'], message: `status ${result.status} is not declared (declared: ${meta.successStatuses.join(', ')})`, code: 'invalid_status' });
  }
  const schema = v.responses?.[String(result.status)];
  const raw = Buffer.isBuffer(result.body) || typeof (result.body as { pipe?: unknown } | null)?.pipe === 'function';
  if (schema && !raw) {
    const r = schema.safeParse(result.body);
    if (!r.success) issues.push(...toIssues(r.error.issues));
  }
  if (!issues.length) return;
  if (mode === 'throw') throw new ResponseValidationError(meta.operationId, result.status, issues);
  report?.(meta.operationId, result.status, issues);
}
