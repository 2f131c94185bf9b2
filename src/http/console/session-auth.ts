import type Koa from 'koa';
import type { ConsoleAuth } from '../../console-auth/service.js';
import { csrfTokenMatches } from '../../console-auth/sessions.js';
import type { AccountRef } from '../context.js';
import { ApiError } from '../errors.js';
import { readCookie, SESSION_COOKIE } from './cookies.js';
import { fromForeignOrigin } from './origin.js';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class CsrfError extends ApiError {
  constructor(message: string) {
    super('csrf_failed', message);
  }
}

/**
 * The console session as an API caller: a request without `Authorization` but with the session
 * cookie acts as the user's account. It carries no scopes (operator operations stay with keys).
 * Refused with 403 `csrf_failed`: any cookie request from another origin, and unsafe methods
 * without `X-CSRF-Token` equal to the session's token. Answers null when there is no cookie or
 * its session is unknown or over (the caller then answers 401 if the operation needs a caller).
 */
export async function sessionCaller(ctx: Koa.Context, auth: ConsoleAuth, publicBaseUrl: string): Promise<AccountRef | null> {
  const token = readCookie(ctx, SESSION_COOKIE);
  if (!token) return null;
  if (fromForeignOrigin(ctx, publicBaseUrl)) {
    throw new CsrfError('Requests signed in with the console session must come from the console itself; use an API key from other sites.');
  }
  const session = await auth.session(token);
  if (!session) return null;
  if (UNSAFE.has(ctx.method) && !csrfTokenMatches(session, ctx.get('x-csrf-token') || undefined)) {
    throw new CsrfError('This request needs the header X-CSRF-Token with the csrf_token of the session (from POST /auth/sign-in or GET /auth/session).');
  }
  return { id: session.accountId, scopes: [], keyId: `user:${session.userId}`, via: 'session', userId: session.userId, sessionId: session.id };
}
