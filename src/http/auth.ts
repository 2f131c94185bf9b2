import type Koa from 'koa';
import type { AccountsService } from '../accounts/service.js';
import { ForbiddenError, RateLimitedError, UnauthorizedError } from './errors.js';
import type { AccountRef, LavendlyState } from './context.js';
import { takeKeyToken, takeKeyTokenNow, type RateLimiter } from './rate-limit.js';
import { limitAddress } from './limit-address.js';

export interface AuthOptions {
  secured: boolean;
  scopes: readonly string[];
  /**
   * Failed attempts per client address: each 401 takes a token, and once the address has none
   * left its failures answer 429 instead (key guessing, broken clients hammering the server).
   * A valid key from the same address is not refused. The address is the socket's, or with
   * LAVENDLY_TRUST_PROXY the one the trusted proxies put in X-Forwarded-For (src/http/app.ts).
   */
  failures?: RateLimiter;
  /**
   * The console session as the caller when no Authorization header is sent
   * (src/http/console/session-auth.ts); it may throw 403 `csrf_failed`.
   */
  session?: (ctx: Koa.Context) => Promise<AccountRef | null>;
  /**
   * Requests per API key (429 once the key's bucket is empty). The shared limiter's statement
   * also says whether the key is still live, so a key revoked by any process is refused by the
   * next request here, although this process may still have it cached.
   */
  limit?: RateLimiter;
  /** Told of every request a valid key made (the key list's "last used"). */
  keyUsed?: (keyId: string) => void;
}

/** The 401 for a failed attempt, or a 429 when the client's address has failed too often. */
async function refused(ctx: Koa.Context, opts: AuthOptions, message: string): Promise<Error> {
  if (opts.failures && opts.failures.perMinute > 0) {
    const r = await opts.failures.take(limitAddress(ctx));
    if (!r.allowed) {
      return new RateLimitedError(r.retryAfterS, {}, 'Too many requests with a missing or invalid API key from this address');
    }
  }
  return new UnauthorizedError(message);
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * Establishes the caller from `Authorization: Bearer <key>`. On secured operations a missing,
 * malformed, unknown or revoked key is a 401 and a missing scope a 403; on open operations a
 * valid key is noted and anything else ignored. Sets `ctx.state.account` (null when none). With
 * `opts.limit`, a request with a valid key also takes its rate-limit token (429 after the 401/403
 * checks).
 */
export async function authenticateRequest(ctx: Koa.Context, accounts: AccountsService, opts: AuthOptions): Promise<void> {
  const state = ctx.state as LavendlyState;
  state.account = null;
  const header = ctx.get('authorization');
  if (!header) {
    const viaSession = opts.session ? await opts.session(ctx) : null;
    if (viaSession) {
      state.account = viaSession;
      if (opts.secured && opts.scopes.length) throw new ForbiddenError([...opts.scopes], 'A console session');
      // A session has its own bucket, by user (its keyId); there is no API key to check.
      if (opts.limit && opts.limit.perMinute > 0) {
        const take = await takeKeyToken(ctx, opts.limit, viaSession.keyId, false);
        if (take.refusal) throw take.refusal;
      }
      return;
    }
    if (opts.secured) throw await refused(ctx, opts, 'This operation needs an API key: send `Authorization: Bearer <key>` (or sign in to the console).');
    return;
  }
  const match = BEARER.exec(header);
  if (!match) {
    if (opts.secured) throw await refused(ctx, opts, 'The Authorization header must be `Bearer <key>`.');
    return;
  }
  const key = match[1]!;
  const principal = await accounts.authenticate(key);
  let limited = null;
  if (principal && opts.limit && opts.limit.perMinute > 0) {
    const take = takeKeyTokenNow(ctx, opts.limit, principal.keyId) ?? await takeKeyToken(ctx, opts.limit, principal.keyId);
    if (!take.keyLive) {
      accounts.forget(key);
      if (opts.secured) throw await refused(ctx, opts, 'The API key is not valid: unknown or revoked.');
      return;
    }
    limited = take.refusal;
  }
  if (!principal) {
    if (opts.secured) throw await refused(ctx, opts, 'The API key is not valid: unknown or revoked.');
    return;
  }
  state.account = { id: principal.accountId, scopes: principal.scopes, keyId: principal.keyId };
  opts.keyUsed?.(principal.keyId);
  if (opts.secured && opts.scopes.length) {
    const missing = opts.scopes.filter((s) => !principal.scopes.includes(s));
    if (missing.length) throw new ForbiddenError(missing);
  }
  if (limited) throw limited;
}

/** `authenticateRequest` as a middleware. */
export function authenticate(accounts: AccountsService, opts: AuthOptions): Koa.Middleware {
  return async (ctx, next) => {
    await authenticateRequest(ctx, accounts, opts);
    await next();
  };
}
