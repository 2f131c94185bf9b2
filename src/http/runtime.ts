import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/knex.js';
import { authenticateRequest } from './auth.js';
import { sessionCaller } from './console/session-auth.js';
import { KeyUseRecorder } from '../accounts/manage.js';
import { serviceOf } from './context.js';
import { DEFAULT_JSON_LIMIT, readBody } from './body.js';
import { buildAppContext, type AppContext, type LavendlyState, type Services } from './context.js';
import { toIssue, ValidationError, type ValidationIssue, type ValidationLocation } from './errors.js';
import { idempotency, IdempotencyStore } from './idempotency.js';
import type { HandlerResult, OperationMeta, OperationValidators, SchemaLike } from './operation.js';
import { SharedRateLimiter, type RateLimiter } from './rate-limit.js';
import { unstorableText } from './text.js';

export interface RuntimeDeps {
  config: Config;
  db: Db;
  services: Services;
  logger: Logger;
  /** Largest JSON body accepted, in bytes (default 1 MB). */
  jsonBodyLimit?: number;
}

/** Thrown by `send` when a handler answers off-spec and response validation is `throw`. */
export class ResponseValidationError extends Error {
  constructor(readonly operationId: string, readonly status: number, readonly issues: ValidationIssue[]) {
    super(`response of ${operationId} (${status}) does not match the spec: ${JSON.stringify(issues).slice(0, 500)}`);
    this.name = 'ResponseValidationError';
  }
}

/**
 * The runtime the generated routes call (RouteRuntime<AppContext>): everything an operation's
 * extensions promise, implemented once.
 */
export class Runtime {
  readonly limiter: RateLimiter;
  /** Failed authentications per client address (shared with the MCP endpoint). */
  readonly authFailures: RateLimiter;
  readonly idempotencyStore: IdempotencyStore;
  private readonly jsonLimit: number;

  constructor(private readonly deps: RuntimeDeps) {
    // Both kept in the database, so every API process on it spends from the same buckets.
    this.limiter = new SharedRateLimiter(deps.db, 'api_key', deps.config.rateLimitPerMinute);
    this.authFailures = new SharedRateLimiter(deps.db, 'auth_failure', deps.config.authFailuresPerMinute);
    this.idempotencyStore = new IdempotencyStore(deps.db, { windowS: deps.config.idempotencyWindowS, leaseS: deps.config.idempotencyLeaseS });
    this.jsonLimit = deps.jsonBodyLimit ?? DEFAULT_JSON_LIMIT;
  }

  /**
   * The one middleware serving an operation, built once at mount time. Per request, in order:
   * operation id (for the access log), auth with the rate limit, the body reader, idempotency when the
   * operation is idempotent, then parse, handler and send. One Koa layer per operation instead of
   * a chain: each layer costs a promise and a closure per request.
   */
  operation<I, R extends HandlerResult>(
    meta: OperationMeta, v: OperationValidators, call: (input: I, ctx: AppContext) => Promise<R>,
  ): Koa.Middleware {
    const accounts = this.deps.services.accounts;
    const consoleAuth = this.deps.services.consoleAuth;
    const publicBaseUrl = this.deps.config.publicBaseUrl;
    const keyUse = serviceOf(this.deps.services, 'keyUse', () => new KeyUseRecorder(this.deps.db));
    const authOpts = {
      secured: meta.secured, scopes: [...meta.scopes], failures: this.authFailures, limit: this.limiter,
      keyUsed: (id: string) => keyUse.note(id),
      ...(consoleAuth ? { session: (ctx: Koa.Context) => sessionCaller(ctx, consoleAuth, publicBaseUrl) } : {}),
    };
    const jsonLimit = this.jsonLimit;
    const serve = async (ctx: Koa.Context): Promise<void> => {
      const input = this.parse(ctx, v) as I;
      this.send(ctx, meta, v, await call(input, this.context(ctx)));
    };
    const idempotent = meta.idempotent ? idempotency(this.idempotencyStore, meta.operationId, this.deps.logger) : null;
    return async (ctx) => {
      (ctx.state as LavendlyState).operationId = meta.operationId;
      // Auth, and the key's rate-limit token with the check that the key is still live.
      await authenticateRequest(ctx, accounts, authOpts);
      await readBody(ctx, meta, jsonLimit);
      if (idempotent) await idempotent(ctx, () => serve(ctx));
      else await serve(ctx);
    };
  }

  /** The handler input from the request, whose body the operation middleware has already read. */
  parse(ctx: Koa.Context, v: OperationValidators): unknown {
    const state = ctx.state as { jsonBody?: unknown; hasJsonBody?: boolean; streamBody?: unknown };
    const issues: Partial<Record<ValidationLocation, ValidationIssue[]>> = {};
    const path = check(issues, 'path', v.path, { ...(ctx as { params?: Record<string, string> }).params });
    const query = check(issues, 'query', v.query, { ...ctx.query });
    const headers = check(issues, 'header', v.headers, headersFor(ctx, v.headers));
    let body: unknown;
    if (state.streamBody !== undefined) body = state.streamBody;
    else body = check(issues, 'body', v.body, state.hasJsonBody ? state.jsonBody : undefined);
    if (issues.path || issues.query || issues.header || issues.body) throw new ValidationError(issues);
    return { path, query, headers, body };
  }

  context(ctx: Koa.Context): AppContext {
    return buildAppContext(ctx, this.deps);
  }

  send(ctx: Koa.Context, meta: OperationMeta, v: OperationValidators, result: HandlerResult): void {
    const mode = this.deps.config.responseValidation;
    if (mode !== 'off') this.checkResponse(meta, v, result, mode);
    if (result.headers) ctx.set(result.headers);
    const body = result.body;
    if (body === undefined || result.status === 204 || result.status === 304) {
      ctx.body = null;
    } else {
      ctx.body = body as Koa.Context['body'];
    }
    ctx.status = result.status;
  }

  private checkResponse(meta: OperationMeta, v: OperationValidators, result: HandlerResult, mode: 'log' | 'throw'): void {
    const issues: ValidationIssue[] = [];
    if (meta.successStatuses.length && !meta.successStatuses.includes(result.status)) {
      issues.push({ path: ['status'], message: `status ${result.status} is not declared (declared: ${meta.successStatuses.join(', ')})`, code: 'invalid_status' });
    }
    const schema = v.responses?.[String(result.status)];
    const isRaw = Buffer.isBuffer(result.body) || typeof (result.body as { pipe?: unknown } | null)?.pipe === 'function';
    if (schema && !isRaw) {
      const r = schema.safeParse(result.body);
      if (!r.success) issues.push(...r.error.issues.map(toIssue));
    }
    if (!issues.length) return;
    const err = new ResponseValidationError(meta.operationId, result.status, issues);
    if (mode === 'throw') throw err;
    this.deps.logger.warn({ operation: meta.operationId, status: result.status, issues }, 'response does not match the spec');
  }
}

/**
 * Validates one location; on failure records its issues and answers undefined. Text no database
 * can store (src/http/text.ts) is refused first, whatever the schema says.
 */
function check(issues: Partial<Record<ValidationLocation, ValidationIssue[]>>, where: ValidationLocation, schema: SchemaLike | null | undefined, value: unknown): unknown {
  const unstorable = unstorableText(value);
  if (unstorable.length) {
    issues[where] = unstorable;
    return undefined;
  }
  if (!schema) return value;
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  issues[where] = r.error.issues.map(toIssue);
  return undefined;
}

/** The header names each header schema declares, with their lowercased lookup names (computed once per schema). */
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
 * The request's headers for validation. Node lowercases header names; the generated schema
 * may spell them as in the spec (`Idempotency-Key`), so each declared name is looked up
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

export function createRuntime(deps: RuntimeDeps): Runtime {
  return new Runtime(deps);
}
