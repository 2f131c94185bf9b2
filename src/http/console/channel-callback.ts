/**
 * `GET /oauth/channels/callback`: where YouTube or TikTok send the browser back after consent
 * (outside /v1 and the spec: a browser navigation, answered with a redirect, not JSON). The
 * session cookie comes along (SameSite=Lax allows it on a top-level GET); the state must belong
 * to that session. Success and failure both go back to the console's channel settings:
 * `/settings/channels?connected=<channel id>` or `/settings/channels?error=<code>`.
 */
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Db } from '../../db/knex.js';
import { ChannelConnectError, finishChannelConnection, secretsFor } from '../../publish/index.js';
import type { Services } from '../context.js';
import { ApiError } from '../errors.js';
import { readCookie, SESSION_COOKIE } from './cookies.js';
import { hasUnstorableText } from './form-body.js';

const CHANNEL_CALLBACK_PATH = '/oauth/channels/callback';
const SETTINGS_PAGE = '/settings/channels';

/** The redirect URI registered with the platforms: this server's public URL and the callback path. */
export function channelCallbackUrl(config: Pick<Config, 'publicBaseUrl'>): string {
  return `${config.publicBaseUrl.replace(/\/+$/, '')}${CHANNEL_CALLBACK_PATH}`;
}

export function channelCallback(deps: { db: Db; config: Config; services: Services; logger: Logger }): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.path !== CHANNEL_CALLBACK_PATH) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      throw new ApiError('method_not_allowed', `${ctx.path} accepts GET only.`, { method: ctx.method, allowed: ['GET', 'HEAD'] }, { Allow: 'GET, HEAD' });
    }
    const q = ctx.query;
    const one = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const token = readCookie(ctx, SESSION_COOKIE);
    const session = token && deps.services.consoleAuth ? await deps.services.consoleAuth.session(token) : null;
    let target: string;
    try {
      // PostgreSQL cannot look up a state holding NUL: such a state is simply not one we issued.
      if (hasUnstorableText(new URLSearchParams(ctx.querystring))) throw new ChannelConnectError('invalid_state', 'The callback holds a NUL character or broken text.');
      const channel = await finishChannelConnection(deps.db, deps.services.oauthProviders, {
        state: one(q.state) ?? '', code: one(q.code), error: one(q.error), sessionId: session?.id ?? null,
        secrets: secretsFor(deps.config),
      });
      deps.logger.info({ channel_id: channel.id, platform: channel.platform, account_id: session?.accountId }, 'channel connected through OAuth');
      target = `${SETTINGS_PAGE}?connected=${encodeURIComponent(channel.id)}`;
    } catch (err) {
      if (!(err instanceof ChannelConnectError)) throw err;
      deps.logger.warn({ code: err.code, reason: err.message }, 'channel connection refused');
      target = `${SETTINGS_PAGE}?error=${err.code}`;
    }
    ctx.set('Cache-Control', 'no-store');
    // The page must not hand the code on to anyone through Referer.
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.status = 303;
    ctx.redirect(target);
    ctx.status = 303;
  };
}
