import type Koa from 'koa';
import crypto from 'node:crypto';

/** Accepted incoming ids: short, printable, no spaces, so they are safe in logs and headers. */
const REQUEST_ID_SHAPE = /^[A-Za-z0-9._:@-]{1,128}$/;

export function requestId(): Koa.Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    // randomUUID draws from a cached entropy pool: far cheaper per request than randomBytes.
    const id = REQUEST_ID_SHAPE.test(incoming) ? incoming : `req_${crypto.randomUUID()}`;
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    await next();
  };
}
