/**
 * The console's sign-in, outside the public API (not in the spec): JSON in, JSON out, errors in
 * the usual envelope.
 *   POST /auth/sign-in  {email, password} -> 200 {email, account_id, csrf_token} + session cookie;
 *                       401 invalid_credentials (unknown email alike), 429 after repeated failures
 *   GET  /auth/session  -> 200 {email, account_id, csrf_token} or 401 unauthorized
 *   POST /auth/sign-out -> 204; the session is deleted and the cookie cleared
 * POSTs from another origin answer 403 csrf_failed; sign-out also wants X-CSRF-Token while the
 * session is live.
 */
import type Koa from 'koa';
import type { ConsoleAuth } from '../../console-auth/service.js';
import { InvalidCredentialsError, SignInThrottledError } from '../../console-auth/errors.js';
import { csrfTokenMatches, type ActiveSession } from '../../console-auth/sessions.js';
import { ApiError, RateLimitedError, UnauthorizedError } from '../errors.js';
import { clearedSessionCookie, overHttps, readCookie, SESSION_COOKIE, sessionCookie } from './cookies.js';
import { readJsonObject, stringField } from './json-body.js';
import { fromForeignOrigin } from './origin.js';
import { CsrfError } from './session-auth.js';
import { limitAddress } from '../limit-address.js';

const AUTH_PATHS = { signIn: '/auth/sign-in', session: '/auth/session', signOut: '/auth/sign-out' } as const;
const METHOD_OF: Record<string, string> = { [AUTH_PATHS.signIn]: 'POST', [AUTH_PATHS.session]: 'GET', [AUTH_PATHS.signOut]: 'POST' };

function describe(session: ActiveSession) {
  return { email: session.email, account_id: session.accountId, csrf_token: session.csrfToken };
}

export function consoleAuthRoutes(opts: { auth: ConsoleAuth; publicBaseUrl: string }): Koa.Middleware {
  const { auth, publicBaseUrl } = opts;
  return async (ctx, next) => {
    const expected = METHOD_OF[ctx.path];
    if (!expected) return next();
    const allowed = expected === 'GET' ? ['GET', 'HEAD'] : [expected];
    if (!allowed.includes(ctx.method)) {
      throw new ApiError('method_not_allowed', `${ctx.path} does not accept ${ctx.method}; it accepts ${allowed.join(', ')}.`, {
        method: ctx.method, allowed,
      }, { Allow: allowed.join(', ') });
    }
    ctx.set('Cache-Control', 'no-store');
    const secure = overHttps(ctx, publicBaseUrl);
    if (ctx.method === 'POST' && fromForeignOrigin(ctx, publicBaseUrl)) {
      throw new CsrfError('Sign-in and sign-out are accepted only from the console itself.');
    }
    const token = readCookie(ctx, SESSION_COOKIE);

    if (ctx.path === AUTH_PATHS.signIn) {
      const body = await readJsonObject(ctx);
      const email = stringField(body, 'email', 254);
      const password = stringField(body, 'password', 1024);
      let started;
      try {
        started = await auth.signIn(email, password, limitAddress(ctx));
      } catch (err) {
        if (err instanceof InvalidCredentialsError) throw new ApiError('invalid_credentials', err.message);
        if (err instanceof SignInThrottledError) throw new RateLimitedError(err.retryAfterS, {}, 'Too many failed sign-ins from this address or for this email');
        throw err;
      }
      // A session cookie the browser already had is replaced: end its session too.
      if (token) await auth.signOut(token);
      ctx.set('Set-Cookie', sessionCookie(started.token, { secure, maxAgeS: auth.options.limits.absoluteMs / 1000 }));
      ctx.status = 200;
      ctx.body = describe(started.session);
      return;
    }

    const session = token ? await auth.session(token) : null;
    if (ctx.path === AUTH_PATHS.session) {
      if (!session) throw new UnauthorizedError('Not signed in: POST /auth/sign-in first.');
      ctx.status = 200;
      ctx.body = describe(session);
      return;
    }

    // sign-out
    if (session && !csrfTokenMatches(session, ctx.get('x-csrf-token') || undefined)) {
      throw new CsrfError('Sign-out needs the header X-CSRF-Token with the session\'s csrf_token.');
    }
    if (token) await auth.signOut(token);
    ctx.set('Set-Cookie', clearedSessionCookie({ secure }));
    ctx.status = 204;
    ctx.body = null;
  };
}
