import type Koa from 'koa';
import getRawBody from 'raw-body';
import { mediaTypeOf } from '@lavendly/framework';

/** A small `application/x-www-form-urlencoded` body (an HTML form, an OAuth token request); null when it is not one. */
export async function readForm(ctx: Koa.Context, limit = 16 * 1024): Promise<URLSearchParams | null> {
  const media = mediaTypeOf(ctx.get('content-type') || undefined);
  if (media?.type !== 'application/x-www-form-urlencoded') return null;
  try {
    return new URLSearchParams(await getRawBody(ctx.req, { limit, encoding: 'utf8' }));
  } catch {
    return null;
  }
}
