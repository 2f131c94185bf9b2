import type Koa from 'koa';
import type { Logger } from 'pino';
import { assignRequestId, renderError, type InternalErrorLogger } from '@lavendly/framework';
import './errors.js'; // registers the spec's error codes and the domain-error translation first
import { accessLogWriter } from './logging.js';
import { isDatabaseUnavailable, outageReason } from '../db/unavailable.js';
import { StorageUnavailableError } from '../storage/index.js';
import { isDiskFull } from '../util/disk-full.js';

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
  const logInternal = internalErrorLogger(logger);
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    assignRequestId(ctx);
    try {
      await next();
    } catch (err) {
      logUnavailable(logger, err, ctx);
      // Nothing leaves the app as anything but an envelope.
      renderError(ctx, err, logInternal);
    } finally {
      writeAccessLine(ctx, started);
      if (draining()) ctx.set('Connection', 'close');
    }
  };
}

/**
 * The media store or the database failing answers 503 with a message naming nothing internal;
 * what failed and where (the address, the socket error) goes to the log.
 */
export function logUnavailable(logger: Logger, err: unknown, ctx: Koa.Context): void {
  const requestId = (ctx.state as { requestId?: string }).requestId ?? 'unknown';
  if (err instanceof StorageUnavailableError) {
    logger.warn({ err, request_id: requestId, method: ctx.method, path: ctx.path }, 'media store unavailable');
  } else if (isDatabaseUnavailable(err)) {
    // The outage itself is logged once, as a warning, by DatabaseHealth; a request it turned away
    // is a line of its own (no stack: the cause is the socket, not this code).
    logger.info({ request_id: requestId, method: ctx.method, path: ctx.path, cause: outageReason(err) }, 'database unavailable');
  } else if (isDiskFull(err)) {
    // An operator must free space: a warning per refused request, naming what failed, without a
    // stack (and, like an outage, without the SQL knex puts before the driver's words).
    const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
    logger.warn({ request_id: requestId, method: ctx.method, path: ctx.path, cause: outageReason(cause) }, 'disk full');
  }
}

/** Internal errors go to the app's log with the request they broke, never to the client. */
export function internalErrorLogger(logger: Logger): InternalErrorLogger {
  return (err, ctx) => {
    const requestId = (ctx.state as { requestId?: string }).requestId ?? 'unknown';
    logger.error({ err, request_id: requestId, method: ctx.method, path: ctx.path }, 'internal error');
  };
}
