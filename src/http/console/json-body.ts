import type Koa from 'koa';
import { ApiError, ValidationError } from '../errors.js';
import { isJsonType, mediaTypeOf, parseJson, readRaw, unstorableText } from '@lavendly/framework';

/** A small JSON object body (console forms): 415 unless JSON, 413 over `limit`, 400 unless an object. */
export async function readJsonObject(ctx: Koa.Context, limit = 16 * 1024): Promise<Record<string, unknown>> {
  const media = mediaTypeOf(ctx.get('content-type') || undefined);
  if (!media || !isJsonType(media.type) || (media.charset && media.charset !== 'utf-8')) {
    throw new ApiError('unsupported_media_type', 'Send the body as application/json (UTF-8).', { accepted: ['application/json'] });
  }
  refuseCompressed(ctx);
  let raw: Buffer;
  try {
    raw = await readRaw(ctx, { limit });
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') throw new ApiError('payload_too_large', `The body is larger than ${limit} bytes.`);
    throw err;
  }
  // The framework's reader: invalid UTF-8 and JSON nested past its depth limit are refused, not
  // patched up, the same as on the API's routes.
  const value = parseJson(raw);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError({ body: [{ path: [], code: 'invalid_type', message: 'The body must be a JSON object.' }] });
  }
  // NUL and unpaired surrogates: PostgreSQL cannot store or compare them (a lookup would fail).
  const unstorable = unstorableText(value);
  if (unstorable.length) throw new ValidationError({ body: unstorable });
  return value as Record<string, unknown>;
}

/** As on the API's routes: a compressed body is a 415, not bytes read as if they were text. */
export function refuseCompressed(ctx: Koa.Context): void {
  const encoding = ctx.get('content-encoding');
  if (encoding && encoding.toLowerCase() !== 'identity') {
    throw new ApiError('unsupported_media_type', 'Compressed request bodies are not accepted; send the body uncompressed.');
  }
}

/** A required string field of a body, else a 400 naming it. */
export function stringField(body: Record<string, unknown>, name: string, maxLength = 1024): string {
  const v = body[name];
  if (typeof v !== 'string' || !v || v.length > maxLength) {
    throw new ValidationError({ body: [{ path: [name], code: 'invalid_type', message: `${name} must be a non-empty string of at most ${maxLength} characters.` }] });
  }
  return v;
}
