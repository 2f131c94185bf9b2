/**
 * The parsed spec document and the two things every IR step needs from it: JSON pointer
 * resolution and errors that name the offending node.
 */
import { createRequire } from 'node:module';
import { pointerJoin, pointerUnescape } from './names.js';

/** A problem in the spec. The message starts with the JSON pointer of the offending node. */
export class SpecError extends Error {
  constructor(
    readonly pointer: string,
    readonly detail: string,
  ) {
    super(`${pointer}: ${detail}`);
    this.name = 'SpecError';
  }
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * `obj[key] = value` that also works for the key `__proto__`, which plain assignment turns into
 * setting the prototype (a property named so would vanish from every artifact).
 */
export function setOwn<T>(obj: { [key: string]: T }, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The YAML parser, loaded on first use: most runs read the parsed document from the cache (load.ts),
 * and loading the library's modules costs more than reading that cache.
 */
let yaml: typeof import('yaml') | undefined;
function parseYaml(text: string, options: import('yaml').ParseOptions & import('yaml').DocumentOptions & import('yaml').ToJSOptions): unknown {
  yaml ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text, options);
}

/** JSON is parsed natively (GitHub's 13 MB description); everything else as YAML 1.2. */
export function parseSpecText(text: string): unknown {
  if (/^\s*\{/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // fall through: YAML is a superset of JSON and reports a position
    }
  }
  try {
    return parseYaml(text, { uniqueKeys: false, maxAliasCount: -1 });
  } catch (e) {
    throw new SpecError('#', `cannot parse the document: ${(e as Error).message.split('\n')[0]}`);
  }
}

export class SpecDoc {
  constructor(readonly root: JsonObject) {}

  /** The node at a local ref (`#/components/parameters/limit`), or a SpecError at `from`. */
  resolve(ref: string, from: string): Json {
    if (!ref.startsWith('#')) {
      throw new SpecError(from, `external $ref "${ref}" is not supported; bundle the document into one file first`);
    }
    const path = ref.slice(1);
    if (path !== '' && !path.startsWith('/')) throw new SpecError(from, `malformed $ref "${ref}"`);
    let node: Json = this.root;
    for (const raw of path.split('/').slice(1)) {
      const key = pointerUnescape(safeDecode(raw));
      const next: Json | undefined = Array.isArray(node)
        ? node[Number(key)]
        : isObject(node) && Object.prototype.hasOwnProperty.call(node, key)
          ? node[key]
          : undefined;
      if (next === undefined) throw new SpecError(from, `$ref "${ref}" does not resolve`);
      node = next;
    }
    return node;
  }

  /** Follows a chain of `$ref`s (non-schema objects); returns the target and its pointer. */
  deref(node: Json | undefined, pointer: string): { node: Json | undefined; pointer: string } {
    const seen = new Set<string>();
    while (isObject(node) && typeof node.$ref === 'string') {
      const ref = node.$ref;
      const from = pointerJoin(pointer, '$ref');
      if (seen.has(ref)) throw new SpecError(from, `circular $ref "${ref}"`);
      seen.add(ref);
      node = this.resolve(ref, from);
      pointer = canonicalPointer(ref);
    }
    return { node, pointer };
  }
}

/** `#/components/schemas/a%20b` -> `#/components/schemas/a b` (pointer escaping kept). */
export function canonicalPointer(ref: string): string {
  return '#' + ref.slice(1).split('/').map(safeDecode).join('/');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function expectObject(v: unknown, pointer: string, what: string): JsonObject {
  if (!isObject(v)) throw new SpecError(pointer, `${what} must be an object`);
  return v;
}

export function optionalString(v: unknown, pointer: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new SpecError(pointer, 'must be a string');
  return v;
}

export function optionalBoolean(v: unknown, pointer: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new SpecError(pointer, 'must be a boolean');
  return v;
}

export function stringArray(v: unknown, pointer: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new SpecError(pointer, 'must be an array of strings');
  return v as string[];
}
