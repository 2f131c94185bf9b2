/**
 * The framework's runtime (@lavendly/framework `createRuntime`) with Lavendly's hooks: API-key and
 * console-session authentication with the per-key rate limit (src/http/auth.ts), limiters and the
 * idempotency store kept in the database so every API process shares them, the handler context
 * with the app's services, and response checks reported through the app's logger.
 */
import type Koa from 'koa';
import type { Logger } from 'pino';
import { createRuntime, type FrameworkRuntime, type OperationMeta } from '@lavendly/framework';
import type { Config } from '../config.js';
import type { Db } from '../db/knex.js';
import { authenticateRequest, type AuthOptions } from './auth.js';
import { sessionCaller } from './console/session-auth.js';
import { internalErrorLogger } from './edge.js';
import { buildAppContext, type AppContext, type LavendlyState, type Services } from './context.js';
import { SqlIdempotencyStore } from './idempotency-store.js';
import { SharedRateLimiter, type RateLimiter } from './rate-limit.js';

export interface RuntimeDeps {
  config: Config;
  db: Db;
  services: Services;
  logger: Logger;
  /** Largest JSON body accepted, in bytes (default 1 MB). */
  jsonBodyLimit?: number;
}

/** What generated routes mount with (their `RouteRuntime<AppContext>`), and the shared state behind it. */
export interface Runtime extends FrameworkRuntime<AppContext> {
  /** Requests per API key. */
  readonly limiter: RateLimiter;
  /** Failed authentications per client address (shared with the MCP endpoint). */
  readonly authFailures: RateLimiter;
  readonly idempotencyStore: SqlIdempotencyStore;
}

export function createLavendlyRuntime(deps: RuntimeDeps): Runtime {
  const { config, db, services, logger } = deps;
  // Both kept in the database, so every API process on it spends from the same buckets.
  const limiter = new SharedRateLimiter(db, 'api_key', config.rateLimitPerMinute);
  const authFailures = new SharedRateLimiter(db, 'auth_failure', config.authFailuresPerMinute);
  const idempotencyStore = new SqlIdempotencyStore(db, { windowS: config.idempotencyWindowS, leaseS: config.idempotencyLeaseS });
  const keyUse = services.keyUse;
  const consoleAuth = services.consoleAuth;
  const session = consoleAuth ? { session: (ctx: Koa.Context) => sessionCaller(ctx, consoleAuth, config.publicBaseUrl) } : {};
  // What authentication needs of each operation, worked out once per operation, not per request.
  const authByOperation = new WeakMap<OperationMeta, AuthOptions>();
  const authOptions = (meta: OperationMeta): AuthOptions => {
    let opts = authByOperation.get(meta);
    if (!opts) {
      opts = { secured: meta.secured, scopes: [...meta.scopes], failures: authFailures, limit: limiter, keyUsed: (id: string) => keyUse.note(id), ...session };
      authByOperation.set(meta, opts);
    }
    return opts;
  };
  const runtime = createRuntime<AppContext>({
    context: (ctx) => buildAppContext(ctx, deps),
    // Auth, and the key's rate-limit token with the check that the key is still live.
    authenticate: (ctx, meta) => authenticateRequest(ctx, services.accounts, authOptions(meta)),
    jsonBodyLimit: deps.jsonBodyLimit,
    idempotency: {
      store: idempotencyStore,
      scope: (ctx) => (ctx.state as LavendlyState).account?.id ?? '',
      log: logger,
      logInternal: internalErrorLogger(logger),
    },
    responseValidation: config.responseValidation,
    onResponseMismatch: (operation, status, issues) => logger.warn({ operation, status, issues }, 'response does not match the spec'),
    refuseUnstorableText: true,
  });
  return { operation: runtime.operation.bind(runtime), limiter, authFailures, idempotencyStore };
}
