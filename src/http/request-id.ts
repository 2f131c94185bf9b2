import type Koa from 'koa';
import { newId } from '../util/ids.js';

/** Accepted incoming ids: short, printable, no spaces, so they are safe in logs and headers. */
const REQUEST_ID_SHAPE = /^[A-Za-z0-9._:@-]{1,128}$/;

export function requestId(): Koa.Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const id = REQUEST_ID_SHAPE.test(incoming) ? incoming : newId('req');
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    await next();
  };
}
