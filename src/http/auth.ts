import type Koa from 'koa';
import type { AccountsService } from '../accounts/service.js';
import { ForbiddenError, UnauthorizedError } from './errors.js';
import type { LavendlyState } from './context.js';

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * Establishes the caller from `Authorization: Bearer <key>`. On secured operations a missing,
 * malformed, unknown or revoked key is a 401 and a missing scope a 403; on open operations a
 * valid key is noted and anything else ignored. Sets `ctx.state.account` (null when none).
 */
export async function authenticateRequest(ctx: Koa.Context, accounts: AccountsService, opts: { secured: boolean; scopes: readonly string[] }): Promise<void> {
  const state = ctx.state as LavendlyState;
  state.account = null;
  const header = ctx.get('authorization');
  if (!header) {
    if (opts.secured) throw new UnauthorizedError('This operation needs an API key: send `Authorization: Bearer <key>`.');
    return;
  }
  const match = BEARER.exec(header);
  if (!match) {
    if (opts.secured) throw new UnauthorizedError('The Authorization header must be `Bearer <key>`.');
    return;
  }
  const principal = await accounts.authenticate(match[1]!);
  if (!principal) {
    if (opts.secured) throw new UnauthorizedError('The API key is not valid: unknown or revoked.');
    return;
  }
  state.account = { id: principal.accountId, scopes: principal.scopes, keyId: principal.keyId };
  if (opts.secured && opts.scopes.length) {
    const missing = opts.scopes.filter((s) => !principal.scopes.includes(s));
    if (missing.length) throw new ForbiddenError(missing);
  }
}

/** `authenticateRequest` as a middleware. */
export function authenticate(accounts: AccountsService, opts: { secured: boolean; scopes: readonly string[] }): Koa.Middleware {
  return async (ctx, next) => {
    await authenticateRequest(ctx, accounts, opts);
    await next();
  };
}
