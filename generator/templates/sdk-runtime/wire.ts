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
  let body: unknown;
  let hasBody = false;
  for (const [key, value] of Object.entries((params ?? {}) as Record<string, unknown>)) {
    if (value === undefined) continue;
    const binding = op.args[key];
    if (binding?.in === 'body' && op.bodyMode === 'single') {
      body = value;
      hasBody = true;
    } else if (binding && binding.in !== 'body') {
      parts[binding.in === 'header' ? 'headers' : binding.in][binding.name] = value;
    } else if (op.bodyMode === 'flat') {
      flat[binding?.name ?? key] = value;
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
    return encodeURIComponent(scalar(value));
  });
}

function scalar(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
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
  if (type.startsWith('multipart/form-data')) {
    const form = new FormData();
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      if (v === undefined || v === null) continue;
      for (const item of Array.isArray(v) ? v : [v]) form.append(k, item instanceof Blob ? item : scalar(item));
    }
    return form;
  }
  if (type === 'application/x-www-form-urlencoded') {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) if (v != null) search.append(k, scalar(v));
    headers.set('content-type', type);
    return search;
  }
  if (!headers.has('content-type')) headers.set('content-type', /json/i.test(type) ? type : 'application/json');
  return JSON.stringify(body);
}

export async function readBody(res: Response): Promise<unknown> {
  if (res.status === 204 || res.status === 205 || res.status === 304) {
    await res.body?.cancel();
    return undefined;
  }
  const type = res.headers.get('content-type') ?? '';
  if (/[/+]json\b/i.test(type)) {
    const text = await res.text();
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  if (type.startsWith('text/') || type === '') return await res.text();
  return await res.blob();
}

export function getField(value: unknown, path: string): unknown {
  let cur = value;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** `Retry-After-Ms`, or `Retry-After` as seconds or an HTTP date, in milliseconds. */
export function retryAfterMs(headers: Headers | null | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (!value) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
