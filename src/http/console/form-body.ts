import type Koa from 'koa';
import { mediaTypeOf, readRaw, unstorableText } from '@lavendly/framework';
import { ApiError, ValidationError } from '../errors.js';
import { refuseCompressed } from './json-body.js';

/**
 * A small `application/x-www-form-urlencoded` body (an HTML form, an OAuth token request); null
 * when it is not one. Over `limit` is a 413, and a field holding NUL or an unpaired surrogate a
 * 400, as on the API's own routes: PostgreSQL cannot store or even compare such text, so a lookup
 * by it would otherwise fail deep in the database.
 */
export async function readForm(ctx: Koa.Context, limit = 16 * 1024): Promise<URLSearchParams | null> {
  const media = mediaTypeOf(ctx.get('content-type') || undefined);
  if (media?.type !== 'application/x-www-form-urlencoded') return null;
  refuseCompressed(ctx);
  let text: string;
  try {
    text = (await readRaw(ctx, { limit })).toString('utf8');
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') throw new ApiError('payload_too_large', `The form is larger than ${limit} bytes.`);
    throw err;
  }
  const form = new URLSearchParams(text);
  if (hasUnstorableText(form)) {
    throw new ValidationError({ body: [{ path: [], code: 'invalid_text', message: 'The form holds a NUL character or an unpaired UTF-16 surrogate.' }] });
  }
  return form;
}

/** Whether a name or value of `params` holds text no database stores (NUL, an unpaired surrogate). */
export function hasUnstorableText(params: URLSearchParams): boolean {
  for (const [name, value] of params) if (unstorableText([name, value]).length) return true;
  return false;
}
