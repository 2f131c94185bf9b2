import type Koa from 'koa';
import getRawBody from 'raw-body';
import { ApiError, ValidationError } from './errors.js';
import type { OperationMeta } from './operation.js';
import { lingerAfterAnswer } from './linger.js';
import { unkeepableJson } from './json-values.js';
import { MAX_JSON_DEPTH, nestsTooDeep } from './json-depth.js';

export { MAX_JSON_DEPTH };

export const DEFAULT_JSON_LIMIT = 1024 * 1024;

const PLAIN_JSON = Object.freeze({ type: 'application/json', charset: null });

/** `application/json; charset=utf-8` -> { type: 'application/json', charset: 'utf-8' } */
export function mediaTypeOf(header: string | undefined): { type: string; charset: string | null } | null {
  if (!header) return null;
  if (header === 'application/json') return PLAIN_JSON; // what nearly every client sends: no parsing
  const [type, ...params] = header.split(';');
  const charset = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('charset='));
  return { type: type!.trim().toLowerCase(), charset: charset ? charset.slice(8).replace(/"/g, '') : null };
}

export function isJsonType(type: string): boolean {
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

export function requestHasBody(ctx: Koa.Context): boolean {
  // Node's own header object (what ctx.get reads, without Koa's delegation on every request).
  const headers = ctx.req.headers;
  if (headers['transfer-encoding']) return true;
  const len = headers['content-length'];
  return len !== undefined && len !== '' && Number(len) > 0;
}

export interface BodyState {
  rawBody?: Buffer;
  jsonBody?: unknown;
  hasJsonBody?: boolean;
  /**
   * Set by the body reader when no string of `jsonBody` (keys included) can hold a NUL or an
   * unpaired surrogate, its text having neither a surrogate nor a `\u` escape: the runtime then
   * skips walking the body for them (runtime/text.ts).
   */
  jsonBodyStorable?: boolean;
  /** The stream for the types the runtime does not parse (uploads, multipart, XML...). */
  streamBody?: NodeJS.ReadableStream;
  /** A form body's text and content type, decoded with the operation's form plan by parseInput (form.ts). */
  formBody?: { type: string; text: string };
}

const unsupported = (declared: readonly string[]) => new ApiError(
  'unsupported_media_type',
  declared.length
    ? `This operation accepts a body of type ${declared.join(' or ')} only.`
    : 'This operation takes no request body.',
  { accepted: [...declared] },
);

/**
 * A declared content type as a request's is matched: its type/subtype, lower-cased, without its
 * parameters (`Application/JSON; charset=utf-8` -> `application/json`), as RFC 9110 matches a
 * media range. The request's charset is still checked where it matters (JSON and forms: UTF-8).
 */
export function bareMediaType(declared: string): string {
  return declared.split(';')[0]!.trim().toLowerCase();
}

/** The operation's declared request content types, bare (bareMediaType) once per operation. */
const declaredByOperation = new WeakMap<object, readonly string[]>();
function declaredTypes(meta: Pick<OperationMeta, 'requestContentTypes'>): readonly string[] {
  let declared = declaredByOperation.get(meta);
  if (!declared) {
    declared = meta.requestContentTypes.map(bareMediaType);
    declaredByOperation.set(meta, declared);
  }
  return declared;
}

/**
 * Reads and checks the body once, before idempotency (which hashes it) and parsing: the content
 * type must be one the operation declares (else 415), JSON must be UTF-8 and at most `limit`
 * bytes (else 413), and must parse (else 400). A form body of a type `forms` has a plan for is
 * read the same way (UTF-8, at most `limit`) and decoded later, with its plan (form.ts). Other
 * declared types (octet-stream uploads, multipart) are left as a stream for the handler.
 */
export async function readBody(
  ctx: Koa.Context, meta: Pick<OperationMeta, 'requestContentTypes'>, limit: number = DEFAULT_JSON_LIMIT,
  forms?: { readonly [contentType: string]: unknown } | null,
): Promise<void> {
  const state = ctx.state as BodyState;
  if (!requestHasBody(ctx)) return;
  const headers = ctx.req.headers;
  const declared = declaredTypes(meta);
  const media = mediaTypeOf(headers['content-type']);
  const encoding = headers['content-encoding'];
  if (encoding && encoding.toLowerCase() !== 'identity') {
    throw new ApiError('unsupported_media_type', 'Compressed request bodies are not accepted; send the body uncompressed.');
  }
  const matches = media && (declared.includes(media.type) || declared.includes('*/*')
    || declared.some((d) => d.endsWith('/*') && media.type.startsWith(d.slice(0, -1))));
  // An operation without a body tolerates an empty-ish JSON body from generic clients; it is ignored.
  const lenientNoBody = declared.length === 0 && media !== null && isJsonType(media.type);
  if (!matches && !lenientNoBody) throw unsupported(declared);
  if (media && isJsonType(media.type)) {
    if (media.charset && media.charset !== 'utf-8' && media.charset !== 'utf8') {
      throw new ApiError('unsupported_media_type', 'JSON bodies must be UTF-8.');
    }
    const raw = await readRaw(ctx, { length: headers['content-length'] || undefined, limit });
    if (lenientNoBody) return;
    state.rawBody = raw;
    if (raw.length === 0) return;
    const text = decodeJson(raw);
    state.jsonBody = parseJsonText(text);
    state.hasJsonBody = true;
    state.jsonBodyStorable = storableJsonText(text);
    return;
  }
  if (media && forms && Object.hasOwn(forms, media.type)) {
    if (media.charset && media.charset !== 'utf-8' && media.charset !== 'utf8') {
      throw new ApiError('unsupported_media_type', 'Form bodies must be UTF-8 (percent-encoded UTF-8 bytes).');
    }
    const raw = await readRaw(ctx, { length: headers['content-length'] || undefined, limit });
    state.rawBody = raw;
    state.formBody = { type: media.type, text: decodeJson(raw) };
    return;
  }
  state.streamBody = ctx.req;
}

/**
 * The whole body, or the reader's error (413 over `limit`) with a lingering close arranged: a body
 * refused part-way (a chunked one past the limit) still has bytes on their way, and the
 * connection, kept alive, would otherwise be reset under the client's next request.
 */
export async function readRaw(ctx: Koa.Context, options: { length?: string; limit: number }): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, options);
  } catch (err) {
    lingerAfterAnswer(ctx.req, ctx.res);
    throw err;
  }
}

/**
 * A JSON text whose strings cannot hold a NUL or an unpaired surrogate once parsed: it has no
 * surrogate (paired or not; a paired one sends the body through the full walk) and no `\u`
 * escape, the only ways either gets into a parsed string (a raw NUL is not valid JSON).
 */
const MAY_HOLD_UNSTORABLE = /[\0\uD800-\uDFFF]|\\u/;
function storableJsonText(text: string): boolean {
  return !MAY_HOLD_UNSTORABLE.test(text);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function parseJson(raw: Buffer): unknown {
  return parseJsonText(decodeJson(raw));
}

/** UTF-8 text of a JSON or form body (400 when it is not UTF-8). */
function decodeJson(raw: Buffer): string {
  try {
    return utf8.decode(raw);
  } catch {
    throw new ValidationError({ body: [{ path: [], message: 'The body is not valid UTF-8.', code: 'invalid_encoding' }] });
  }
}

function parseJsonText(text: string): unknown {
  if (nestsTooDeep(text)) {
    throw new ValidationError({ body: [{ path: [], message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels.`, code: 'too_deep' }] });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(
      { body: [{ path: [], message: `Malformed JSON: ${(err as Error).message}`, code: 'invalid_json' }] },
      'The request body is not valid JSON.',
    );
  }
  // What JSON.parse accepts but the server could not keep as sent (json-values.ts).
  const unkeepable = unkeepableJson(text, value);
  if (unkeepable) throw new ValidationError({ body: [unkeepable] });
  return value;
}
