/**
 * Requests on the wire: flattened params split by location, path and query encoding, bodies
 * encoded by content type, responses read by theirs.
 * Part of the SDK runtime (see index.ts): only web-standard globals (fetch, Web Crypto) and sibling files may be used.
 */
import type { OperationDescriptor, RequestParts } from './descriptors.js';

/** Flattened params -> `{ path, query, headers, body }` by the operation's argument table. */
export function splitParams(operationId: string, op: OperationDescriptor, params: unknown): RequestParts {
  const parts = { path: {} as Record<string, unknown>, query: {} as Record<string, unknown>, headers: {} as Record<string, unknown> };
  const flat: Record<string, unknown> = {};
  // Defined, not assigned: `flat['__proto__'] = 5` would set no key (and an object value would
  // become flat's prototype), so the field would vanish from the body without a word.
  const setFlat = (name: string, value: unknown) => Object.defineProperty(flat, name, { value, enumerable: true, writable: true, configurable: true });
  let body: unknown;
  let hasBody = false;
  for (const [key, value] of Object.entries((params ?? {}) as Record<string, unknown>)) {
    if (value === undefined) continue;
    // Own keys only: a field named `constructor` or `toString` must not find Object.prototype's.
    const binding = Object.prototype.hasOwnProperty.call(op.args, key) ? op.args[key] : undefined;
    if (binding?.in === 'body' && op.bodyMode === 'single') {
      body = value;
      hasBody = true;
    } else if (binding && binding.in !== 'body') {
      parts[binding.in === 'header' ? 'headers' : binding.in][binding.name] = value;
    } else if (op.bodyMode === 'flat') {
      setFlat(binding?.name ?? key, value);
      hasBody = true;
    } else {
      throw new TypeError(`${operationId}: unknown argument '${key}'`);
    }
  }
  if (op.bodyMode === 'flat' && (hasBody || op.bodyRequired)) body = flat;
  return hasBody || op.bodyRequired ? { ...parts, body } : parts;
}

export function expandPath(template: string, values: Record<string, unknown>): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined || value === null) throw new TypeError(`missing path parameter '${name}' for ${template}`);
    const segment = encodeURIComponent(scalar(value));
    // fetch resolves dot segments before sending: '/workflows/wf_1/tracks/..' goes out as
    // '/workflows/wf_1/', so a DELETE meant for a track would remove the whole workflow. An empty
    // segment names another route too. No id is any of these, so they are refused here.
    if (segment === '' || segment === '.' || segment === '..') {
      throw new TypeError(`path parameter '${name}' for ${template} cannot be ${JSON.stringify(segment)}: it would change which URL is called`);
    }
    return segment;
  });
}

function scalar(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** A deepObject form field: each nested field in brackets, list items by index (`a[b][0][c]=v`). */
function appendDeep(search: URLSearchParams, key: string, value: unknown, depth = 0): void {
  if (value === undefined || value === null) return;
  if (value instanceof Date || typeof value !== 'object' || depth > 32) return search.append(key, scalar(value));
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  for (const [k, v] of entries) appendDeep(search, `${key}[${k}]`, v, depth + 1);
}

export function queryString(op: OperationDescriptor, values: Record<string, unknown>): string {
  const search = new URLSearchParams();
  const explodeOf = (name: string) => Object.values(op.args).find((b) => b.in === 'query' && b.name === name)?.explode ?? true;
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      if (explodeOf(name)) for (const v of value) search.append(name, scalar(v));
      else search.append(name, value.map(scalar).join(','));
    } else if (typeof value === 'object' && !(value instanceof Date)) {
      // form style, exploded: each property becomes its own parameter
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v != null) search.append(k, scalar(v));
    } else {
      search.append(name, scalar(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export function encodeBody(op: OperationDescriptor, body: unknown, headers: Headers): RequestInit['body'] {
  if (body === undefined) return undefined;
  const type = op.contentType ?? 'application/json';
  // What the body is encoded as goes by the declared type/subtype, whatever its case and
  // parameters (`Application/X-WWW-Form-Urlencoded`, `...; charset=utf-8`); the header sends it as declared.
  const bare = type.split(';')[0]!.trim().toLowerCase();
  if (
    typeof body === 'string' ||
    body instanceof Uint8Array ||
    body instanceof ArrayBuffer ||
    body instanceof Blob ||
    body instanceof ReadableStream ||
    body instanceof URLSearchParams ||
    body instanceof FormData
  ) {
    if (!(body instanceof FormData) && !headers.has('content-type')) headers.set('content-type', type);
    return body as RequestInit['body'];
  }
  if (bare === 'multipart/form-data') {
    const form = new FormData();
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      if (v === undefined || v === null) continue;
      for (const item of Array.isArray(v) ? v : [v]) form.append(k, item instanceof Blob ? item : scalar(item));
    }
    return form;
  }
  if (bare === 'application/x-www-form-urlencoded') {
    // As the spec's `encoding` says (the server decodes it so): an array is its key repeated
    // (OpenAPI's default, style form with explode; Twilio's StatusCallbackEvent); a property
    // declared deepObject goes in brackets (`meta[key]=v`, `items[0][price]=x`, as Stripe's); a
    // JSON-typed one, and any other object, as one JSON text.
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      const style = op.formEncoding?.[k];
      if (style === 'deepObject') appendDeep(search, k, v);
      else if (style === 'json') { if (v != null) search.append(k, JSON.stringify(v)); }
      else for (const item of Array.isArray(v) ? v : [v]) if (item != null) search.append(k, scalar(item));
    }
    headers.set('content-type', type);
    return search;
  }
  // A wildcard (`application/*`, `*/*`) or any type that is not JSON: the object goes as JSON, labelled so.
  if (!headers.has('content-type')) headers.set('content-type', /json/.test(bare) ? type : 'application/json');
  return JSON.stringify(body);
}

/** What a response carried, read by its content type; `tooLarge` when it passed the size cap. */
export type ReadBody =
  | { kind: 'none'; value: undefined }
  /**
   * `beyondDouble`: where the JSON holds a number JSON.parse made ±Infinity (see beyondDoubleAt),
   * and the value read again with each such number as its literal text (see errorBody).
   */
  | { kind: 'json'; value: unknown; beyondDouble?: { path: string; literal: unknown } }
  | { kind: 'text'; value: string; labelledJson: boolean }
  | { kind: 'blob'; value: Blob }
  | { kind: 'tooLarge'; value: undefined };

/**
 * Reads a body of at most `limit` bytes (a server streaming without end must not fill memory):
 * JSON parsed, text as a string (also JSON-labelled text that does not parse), anything else a Blob.
 */
export async function readBody(res: Response, limit: number): Promise<ReadBody> {
  if (res.status === 204 || res.status === 205 || res.status === 304) {
    await res.body?.cancel();
    return { kind: 'none', value: undefined };
  }
  const bytes = await readCapped(res, limit);
  if (!bytes) return { kind: 'tooLarge', value: undefined };
  const type = res.headers.get('content-type') ?? '';
  const labelledJson = /[/+]json\b/i.test(type);
  // Media types are case-insensitive and may carry parameters: `Text/Plain; Charset=UTF-8` is text.
  const bare = type.split(';')[0]!.trim().toLowerCase();
  if (labelledJson || bare.startsWith('text/') || bare === '') {
    const text = new TextDecoder().decode(bytes);
    if (!text) return { kind: 'none', value: undefined };
    if (labelledJson && !nestsDeeperThan(text, MAX_RESPONSE_DEPTH)) {
      try {
        const value: unknown = JSON.parse(text);
        const path = MAY_OVERFLOW.test(text) ? beyondDoubleAt(value, []) : null;
        // Set only when found: under exactOptionalPropertyTypes an optional key may not hold undefined.
        return path === null ? { kind: 'json', value } : { kind: 'json', value, beyondDouble: { path, literal: JSON.parse(quoteBeyondDouble(text)) } };
      } catch {
        // falls through: the caller decides what JSON-labelled text that does not parse means
      }
    }
    return { kind: 'text', value: text, labelledJson };
  }
  // readCapped returns a fresh array of exactly the body's size: its buffer is the body.
  return { kind: 'blob', value: new Blob([bytes.buffer as ArrayBuffer], { type }) };
}

/**
 * JSON nested deeper than this is read as text, not parsed (the Python SDK's parser stops near the
 * same depth): JSON.parse takes it, but JSON.stringify and any recursive walk in the caller's code
 * (or the MCP server's) then fail with 'Maximum call stack size exceeded'.
 */
const MAX_RESPONSE_DEPTH = 1000;

/**
 * A number literal that can overflow a double: a three-digit exponent, or 309 digits in a row
 * (anchored after a non-digit, so a long run is not retried from every digit). Strings may match:
 * it only decides whether the parsed value is walked.
 */
const MAY_OVERFLOW = /[\d.][eE]\+?\d{3}|(?:^|\D)\d{309}/;

/**
 * The path (`data.0.total`, or `(body)`) of the first number beyond a double (1e400, or an
 * integer of 5000 digits), which JSON.parse reads as ±Infinity and JSON.stringify writes as null:
 * refused as `number_out_of_range`, as the Python SDK refuses it, rather than handed on as a
 * value the API never meant. Depth is bounded by MAX_RESPONSE_DEPTH.
 */
function beyondDoubleAt(v: unknown, path: (string | number)[]): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? null : path.join('.') || '(body)';
  if (typeof v !== 'object' || v === null) return null;
  for (const [key, child] of Array.isArray(v) ? v.entries() : Object.entries(v)) {
    path.push(key);
    const found = beyondDoubleAt(child, path);
    path.pop();
    if (found) return found;
  }
  return null;
}

/**
 * A webhook payload parsed as a response body is: null where it is not JSON or nests deeper than
 * MAX_RESPONSE_DEPTH, else its value and where it holds a number beyond a double, if it does.
 */
export function parseJsonText(text: string): { value: unknown; beyondDouble: string | null } | null {
  if (nestsDeeperThan(text, MAX_RESPONSE_DEPTH)) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return { value, beyondDouble: MAY_OVERFLOW.test(text) ? beyondDoubleAt(value, []) : null };
}

/**
 * The body to build an error from: an error envelope is the server's word on a failure, so a
 * number beyond a double in it (its details) is kept as its literal text, a string ("1e400"),
 * and the error keeps its class, code and message. The Python SDK reads it the same way.
 */
export function errorBody(read: ReadBody): unknown {
  return read.kind === 'json' && read.beyondDouble ? read.beyondDouble.literal : read.value;
}

/** `text` (valid JSON) with each number literal beyond a double written as a string of its text. */
function quoteBeyondDouble(text: string): string {
  // A string (skipped whole, escapes included) or a number; anything else is copied as it is.
  const token = /"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
  return text.replace(token, (t) => (t.startsWith('"') || Number.isFinite(Number(t)) ? t : `"${t}"`));
}

/** Whether `text` nests brackets deeper than `max`, brackets in strings not counted. */
function nestsDeeperThan(text: string, max: number): boolean {
  // Each level opens a bracket: a text with few of them is settled without the scan.
  let brackets = 0;
  for (let i = text.indexOf('['); i !== -1 && brackets <= max; i = text.indexOf('[', i + 1)) brackets++;
  for (let i = text.indexOf('{'); i !== -1 && brackets <= max; i = text.indexOf('{', i + 1)) brackets++;
  if (brackets <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* backslash */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123 /* [ { */) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) depth--;
  }
  return false;
}

/** The body's bytes, or null past `limit` (the stream is then cancelled, not drained). */
async function readCapped(res: Response, limit: number): Promise<Uint8Array | null> {
  if (Number(res.headers.get('content-length')) > limit) {
    await res.body?.cancel();
    return null;
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export function getField(value: unknown, path: string): unknown {
  let cur = value;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** What failed, as a message can show it. */
export function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  // undici's own message is only 'fetch failed'; its cause says why ('bad port', 'unknown scheme').
  if (cause && typeof cause.message === 'string' && cause.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** `ms` of waiting, cut short (rejected with its reason) by `signal`. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
