import type Koa from 'koa';
import getRawBody from 'raw-body';
import { ApiError, ValidationError } from '../errors.js';
import { isJsonType, mediaTypeOf } from '@lavendly/framework';

/** A small JSON object body (console forms): 415 unless JSON, 413 over `limit`, 400 unless an object. */
export async function readJsonObject(ctx: Koa.Context, limit = 16 * 1024): Promise<Record<string, unknown>> {
  const media = mediaTypeOf(ctx.get('content-type') || undefined);
  if (!media || !isJsonType(media.type) || (media.charset && media.charset !== 'utf-8')) {
    throw new ApiError('unsupported_media_type', 'Send the body as application/json (UTF-8).', { accepted: ['application/json'] });
  }
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit, encoding: 'utf8' });
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') throw new ApiError('payload_too_large', `The body is larger than ${limit} bytes.`);
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError({ body: [{ path: [], code: 'invalid_json', message: 'The body is not valid JSON.' }] });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError({ body: [{ path: [], code: 'invalid_type', message: 'The body must be a JSON object.' }] });
  }
  return value as Record<string, unknown>;
}

/** A required string field of a body, else a 400 naming it. */
export function stringField(body: Record<string, unknown>, name: string, maxLength = 1024): string {
  const v = body[name];
  if (typeof v !== 'string' || !v || v.length > maxLength) {
    throw new ValidationError({ body: [{ path: [name], code: 'invalid_type', message: `${name} must be a non-empty string of at most ${maxLength} characters.` }] });
  }
  return v;
}
