import type Koa from 'koa';
import type { Logger } from 'pino';
import { renderError } from './envelope.js';
import { accessLogWriter } from './logging.js';
import { assignRequestId } from './request-id.js';

/**
 * The outermost layer of the app, one per request where there used to be four: the request id
 * (in and out), the error envelope for anything thrown below, the access log line once the
 * response is final, and `Connection: close` once shutdown starts (so keep-alive clients move on
 * and the server can finish closing at once). Every Koa layer costs a promise and a closure per
 * request, which is why these share one.
 */
export function edge(opts: { logger: Logger; draining: () => boolean }): Koa.Middleware {
  const { logger, draining } = opts;
  const writeAccessLine = accessLogWriter(logger);
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    assignRequestId(ctx);
    try {
      await next();
    } catch (err) {
      // Nothing leaves the app as anything but an envelope.
      renderError(ctx, err, logger);
    } finally {
      writeAccessLine(ctx, started);
      if (draining()) ctx.set('Connection', 'close');
    }
  };
}
