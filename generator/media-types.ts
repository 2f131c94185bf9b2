/**
 * Which request bodies the server runtime parses as JSON: `application/json` and
 * `application/<x>+json`, as packages/framework/src/runtime/body.ts decides. Forms
 * (`application/x-www-form-urlencoded` of an object schema) it decodes by a plan (form-plan.ts).
 * Every other declared type (multipart, XML, text, uploads) reaches the handler as the request
 * stream, unparsed and unvalidated, so its schema can type and check only what the SDKs send.
 */
export function parsedAsJson(contentType: string): boolean {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** A wildcard such as `application/*` (or any type): a JSON body sent under it is parsed, anything else streamed. */
export function isWildcardMediaType(contentType: string): boolean {
  return /^[^/;]+\/\*\s*(;|$)/.test(contentType.trim());
}

/** The schema of an upload, streamed by design: `format: binary`, or none for octet-stream and media. */
export function isBinaryMedia(contentType: string, schema: unknown): boolean {
  const s = typeof schema === 'object' && schema !== null ? (schema as { [k: string]: unknown }) : null;
  if (s && s.format === 'binary' && (s.type === 'string' || s.type === undefined)) return true;
  const empty = schema === true || (s !== null && Object.keys(s).length === 0);
  return empty && /^(application\/octet-stream|image\/|video\/|audio\/)/i.test(contentType);
}
