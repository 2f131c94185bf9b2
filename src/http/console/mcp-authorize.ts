/**
 * `/oauth/authorize`: where an MCP client sends the person to approve it. Backed by the console's
 * sign-in: without a session the page asks for email and password (and starts a console
 * session); with one it asks "Allow <client> to use Lavendly as <email>?". Allow redirects to
 * the client's registered redirect URI with a single-use code; Deny with `error=access_denied`.
 * The form posts back here with the session's CSRF token; a POST from another origin is refused.
 * Nothing is redirected before the person answers: a request naming an unknown client or an
 * unregistered redirect URI, and one that is malformed (no PKCE, another response_type), gets a
 * page saying so. Registration is open to anyone, so redirecting such a request straight to its
 * redirect URI would make this server a redirector for any address (RFC 9700, 4.11.2).
 */
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Db } from '../../db/knex.js';
import type { ConsoleAuth } from '../../console-auth/service.js';
import { InvalidCredentialsError, SignInThrottledError } from '../../console-auth/errors.js';
import { csrfTokenMatches, type ActiveSession } from '../../console-auth/sessions.js';
import { findClient, type OAuthClient } from '../../oauth/clients.js';
import { issueAuthorizationCode, type AuthorizationRequest } from '../../oauth/mcp-codes.js';
import { ApiError } from '../errors.js';
import { overHttps, readCookie, SESSION_COOKIE, sessionCookie } from './cookies.js';
import { clientFault } from './client-fault.js';
import { hasUnstorableText, readForm } from './form-body.js';
import { issuerOf, MCP_OAUTH_PATHS, mcpResourceOf } from './mcp-oauth.js';
import { fromForeignOrigin } from './origin.js';
import { limitAddress } from '../limit-address.js';

const PARAMS = ['response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state', 'scope', 'resource'] as const;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

type Checked =
  | { kind: 'page_error'; message: string }
  | { kind: 'ok'; client: OAuthClient; request: AuthorizationRequest };

async function check(db: Db, config: Config, p: URLSearchParams): Promise<Checked> {
  const client = await findClient(db, p.get('client_id') ?? '');
  if (!client) return { kind: 'page_error', message: 'This application is not registered with Lavendly (unknown client_id).' };
  const given = p.get('redirect_uri');
  const redirectUri = given ?? (client.redirect_uris.length === 1 ? client.redirect_uris[0]! : '');
  if (!client.redirect_uris.includes(redirectUri)) return { kind: 'page_error', message: 'The redirect_uri is not one this application registered.' };
  const fail = (error: string, description: string): Checked => ({ kind: 'page_error', message: `The application sent an invalid request (${error}): ${description}.` });
  if (p.get('response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be code');
  const challenge = p.get('code_challenge') ?? '';
  if (p.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) return fail('invalid_request', 'PKCE with code_challenge_method=S256 is required');
  const resource = p.get('resource');
  const mine = [mcpResourceOf(config), `${mcpResourceOf(config)}/`, issuerOf(config), `${issuerOf(config)}/`];
  if (resource && !mine.includes(resource)) return fail('invalid_target', `resource must be ${mcpResourceOf(config)}`);
  return { kind: 'ok', client, request: { clientId: client.client_id, redirectUri, codeChallenge: challenge, scope: p.get('scope'), resource } };
}

function redirectTo(ctx: Koa.Context, config: Config, redirectUri: string, params: Record<string, string | null>): void {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== null) url.searchParams.set(k, v);
  url.searchParams.set('iss', issuerOf(config));
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.redirect(url.toString());
  ctx.status = 303;
}

/**
 * Where the consent form's answer may lead, for the page's CSP `form-action` (browsers check the
 * redirect after a form post against it): the redirect URI's origin, or for an app's own scheme
 * (`com.example.app:/cb`, whose origin is opaque) the scheme itself.
 */
function formTargetOf(redirectUri: string): string {
  const url = new URL(redirectUri);
  return url.origin === 'null' ? url.protocol : url.origin;
}

function page(ctx: Koa.Context, status: number, title: string, body: string, formTarget?: string): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  // Forms post here, and the answer redirects to the client: both must be allowed as form targets.
  ctx.set('Content-Security-Policy', `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'${formTarget ? ` ${formTarget}` : ''}; frame-ancestors 'none'; base-uri 'none'`);
  ctx.set('X-Frame-Options', 'DENY');
  // Not no-referrer: with it a browser sends `Origin: null` on the form's own POST, which the
  // cross-site check must refuse. same-origin still sends nothing to any other site.
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Lavendly</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin:1rem .5rem 0 0;padding:.5rem 1rem;font-size:1rem}.error{color:#a00000}</style></head>
<body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

function hiddenFields(p: URLSearchParams): string {
  return PARAMS.filter((k) => p.get(k) !== null).map((k) => `<input type="hidden" name="${k}" value="${esc(p.get(k)!)}">`).join('');
}

function signInPage(ctx: Koa.Context, client: OAuthClient, p: URLSearchParams, status = 200, error?: string): void {
  page(ctx, status, 'Sign in to Lavendly', `<p><strong>${esc(client.client_name)}</strong> wants to use Lavendly on your behalf. Sign in first.</p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="${MCP_OAUTH_PATHS.authorize}">${hiddenFields(p)}<input type="hidden" name="action" value="sign_in">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>`);
}

function consentPage(ctx: Koa.Context, client: OAuthClient, p: URLSearchParams, session: ActiveSession, redirectUri: string): void {
  const host = new URL(redirectUri).origin;
  page(ctx, 200, 'Allow access?', `<p>Allow <strong>${esc(client.client_name)}</strong> to use Lavendly as <strong>${esc(session.email)}</strong>?
It will be able to do what an API key of your account can: create and generate videos (spending credits) and publish them.
You can revoke it at any time under Settings, API keys.</p>
<p>After you answer, you go back to <code>${esc(host)}</code>.</p>
<form method="post" action="${MCP_OAUTH_PATHS.authorize}">${hiddenFields(p)}<input type="hidden" name="csrf_token" value="${esc(session.csrfToken)}">
<button type="submit" name="action" value="allow">Allow</button><button type="submit" name="action" value="deny">Deny</button></form>`, formTargetOf(redirectUri));
}

export function mcpAuthorize(deps: { db: Db; config: Config; logger: Logger; auth: ConsoleAuth }): Koa.Middleware {
  const { db, config, auth } = deps;
  return async (ctx, next) => {
    if (ctx.path !== MCP_OAUTH_PATHS.authorize) return next();
    let params: URLSearchParams;
    if (ctx.method === 'GET' || ctx.method === 'HEAD') params = new URLSearchParams(ctx.querystring);
    else if (ctx.method === 'POST') {
      if (fromForeignOrigin(ctx, config.publicBaseUrl)) return page(ctx, 403, 'Refused', '<p>This form must be sent from Lavendly itself.</p>');
      let form: URLSearchParams | null;
      try {
        form = await readForm(ctx);
      } catch (err) {
        const fault = clientFault(err);
        if (!fault) throw err;
        return page(ctx, fault.status, 'Bad request', `<p class="error">${esc(fault.message)}</p>`);
      }
      if (!form) return page(ctx, 415, 'Bad request', '<p>Send the form as application/x-www-form-urlencoded.</p>');
      params = form;
    } else {
      throw new ApiError('method_not_allowed', `${ctx.path} accepts GET and POST.`, { method: ctx.method, allowed: ['GET', 'HEAD', 'POST'] }, { Allow: 'GET, HEAD, POST' });
    }
    const checked = hasUnstorableText(params)
      ? { kind: 'page_error' as const, message: 'The request holds a NUL character or broken text; start again from your application.' }
      : await check(db, config, params);
    if (checked.kind === 'page_error') return page(ctx, 400, 'Cannot continue', `<p class="error">${esc(checked.message)}</p>`);
    const state = params.get('state');
    const { client, request } = checked;
    const token = readCookie(ctx, SESSION_COOKIE);
    let session = token ? await auth.session(token) : null;
    const action = ctx.method === 'POST' ? params.get('action') : null;

    if (action === 'sign_in') {
      try {
        const started = await auth.signIn(params.get('email') ?? '', params.get('password') ?? '', limitAddress(ctx));
        if (token) await auth.signOut(token);
        ctx.set('Set-Cookie', sessionCookie(started.token, { secure: overHttps(ctx, config.publicBaseUrl), maxAgeS: auth.options.limits.absoluteMs / 1000 }));
        session = started.session;
      } catch (err) {
        if (err instanceof InvalidCredentialsError) return signInPage(ctx, client, params, 401, err.message);
        if (err instanceof SignInThrottledError) return signInPage(ctx, client, params, 429, err.message);
        throw err;
      }
      return consentPage(ctx, client, params, session, request.redirectUri);
    }
    if (!session) return signInPage(ctx, client, params);
    if (action === 'allow' || action === 'deny') {
      if (!csrfTokenMatches(session, params.get('csrf_token') ?? undefined)) return page(ctx, 403, 'Refused', '<p>The form is out of date; start again from your application.</p>');
      if (action === 'deny') return redirectTo(ctx, config, request.redirectUri, { error: 'access_denied', state });
      const code = await issueAuthorizationCode(db, request, { accountId: session.accountId, userId: session.userId });
      deps.logger.info({ client_id: client.client_id, account_id: session.accountId }, 'MCP client approved');
      return redirectTo(ctx, config, request.redirectUri, { code, state });
    }
    return consentPage(ctx, client, params, session, request.redirectUri);
  };
}
