/**
 * `createApp`: a Koa app around the generated routes with what every API needs outside the
 * operations: request ids, the error envelope for anything thrown, 404 for unknown paths, 405
 * (with Allow) for a known path with another method, and OPTIONS answered from the routes.
 */
import Router from '@koa/router';
import Koa from 'koa';
import { ApiError } from './errors.js';
import { renderError, type InternalErrorLogger } from './envelope.js';
import { assignRequestId } from './request-id.js';
import { normalisePath } from './request-path.js';

export interface AppOptions {
  /** Path prefix of the API (routes.gen.ts exports it as `basePath`). */
  basePath: string;
  /** Registers the operations: `(router) => mountRoutes(router, handlers, runtime)`. */
  mount: (router: Router) => void;
  /** Where internal errors (500s) are reported; default stderr. */
  logInternal?: InternalErrorLogger;
}

export function createApp(options: AppOptions): Koa {
  const app = new Koa();
  const router = new Router({ prefix: options.basePath.replace(/\/+$/, '') || undefined });
  options.mount(router);
  app.use(async (ctx, next) => {
    assignRequestId(ctx);
    const path = normalisePath(ctx.path);
    if (path !== ctx.path) ctx.path = path;
    try {
      await next();
    } catch (err) {
      renderError(ctx, err, options.logInternal);
    }
  });
  app.use(router.routes());
  app.use(unmatched(router));
  return app;
}

/**
 * After the router: a path it does not know is a 404; a known path with another method a 405.
 * `notFoundHint` ends the 404's message (say, where the list of operations is).
 */
export function unmatched(router: Router, opts: { notFoundHint?: string } = {}): Koa.Middleware {
  const hint = opts.notFoundHint ? `; ${opts.notFoundHint}` : '.';
  return async (ctx) => {
    if (ctx.body !== undefined && ctx.body !== null) return;
    const match = router.match(ctx.path, ctx.method);
    if (match.route) return; // a route ran and answered (e.g. 204)
    const methods = new Set<string>();
    for (const layer of match.path) for (const m of layer.methods) methods.add(m);
    if (!methods.size) throw new ApiError('not_found', `No operation at ${ctx.method} ${ctx.path}${hint}`, { method: ctx.method, path: ctx.path });
    if (methods.has('GET')) methods.add('HEAD');
    const allow = [...methods].sort().join(', ');
    if (ctx.method === 'OPTIONS') {
      ctx.set('Allow', allow);
      ctx.status = 204;
      return;
    }
    throw new ApiError('method_not_allowed', `${ctx.path} does not accept ${ctx.method}; it accepts ${allow}.`, { method: ctx.method, allowed: [...methods].sort() }, { Allow: allow });
  };
}
