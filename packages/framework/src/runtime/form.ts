/**
 * `application/x-www-form-urlencoded` bodies decoded as OpenAPI 3 describes them, by a plan the
 * generator derives from the body's schema and `encoding` (validators.gen.ts's `forms`):
 * - a scalar is one `key=value`, its text coerced to the schema's type (`age=x` for an integer is
 *   refused here, naming the field, rather than reaching the schema as a string);
 * - an array is its key repeated (style form, explode true), `key[]=v` and `key[0]=v` also taken;
 * - an object declared `style: deepObject` is `meta[key]=v`, nested as Stripe nests them
 *   (`card[address][line1]=...`, `items[0][price]=...`);
 * - a property with `encoding.contentType: application/json` (and an object without deepObject,
 *   which is how the SDKs send one) is one JSON text.
 * Whatever the plan does not name, a key sent twice, bad percent-encoding, `__proto__` and the
 * like are issues for a 400, never a prototype written or a 500. The result then goes through
 * the same zod validator as a JSON body.
 */
import type { ValidationIssue } from './errors.js';
import { nestsTooDeep } from './json-depth.js';

/** How one field of a form body is read (generated; plain data). */
export type FormField =
  | { kind: 'string' | 'integer' | 'number' | 'boolean' | 'json' }
  | { kind: 'array'; items: FormField }
  | { kind: 'object'; properties: { readonly [name: string]: FormField }; additional: FormField | null };

/** The whole body: its top-level fields, and what any other key is (null: refused). */
export interface FormPlan {
  properties: { readonly [name: string]: FormField };
  additional: FormField | null;
}

/** Pairs in one body: a 1 MiB body could otherwise hold 250,000 (`a=&a=&...`), each a walk. */
export const MAX_FORM_PAIRS = 10_000;
/** Brackets after a key's name: Stripe's deepest (`items[0][price_data][recurring][interval]`) has 4. */
export const MAX_FORM_DEPTH = 8;
/** Issues reported for one body, so that a hostile body does not get a megabyte of them back. */
const MAX_ISSUES = 50;
/** Array indexes as digits: `a[99999999999]` is refused by its text, before any gap check. */
const INDEX = /^(0|[1-9]\d{0,5})$/;
/** Names that would reach a prototype through a careless assignment somewhere downstream. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

type Entry =
  | { kind: 'value'; value: unknown }
  | { kind: 'object'; map: Map<string, Entry> }
  | { kind: 'array'; pushed: Entry[]; indexed: Map<number, Entry> };

type Path = (string | number)[];

class Decoder {
  readonly issues: ValidationIssue[] = [];

  readonly #said = new Set<string>();

  /** Each issue once (an unknown key sent a thousand times is one issue), and at most MAX_ISSUES. */
  issue(path: Path, message: string, code: string): void {
    if (this.issues.length >= MAX_ISSUES || this.#said.has(message)) return;
    this.#said.add(message);
    this.issues.push({ path, message, code });
  }

  /** The field a key names in an object (the plan's own properties, else its `additional`), or null after an issue. */
  field(owner: { properties: { readonly [name: string]: FormField }; additional: FormField | null }, key: string, path: Path): FormField | null {
    if (key === '__proto__' || (FORBIDDEN.has(key) && !Object.hasOwn(owner.properties, key))) {
      this.issue(path, `"${key}" is not accepted as a field name.`, 'forbidden_key');
      return null;
    }
    if (Object.hasOwn(owner.properties, key)) return owner.properties[key]!;
    if (owner.additional) return owner.additional;
    this.issue(path, `Unknown field "${key}".`, 'unrecognized_keys');
    return null;
  }

  /** Puts one pair's value under `key` of `entries`, as `field` says, `rest` being the brackets still to follow. */
  put(entries: Map<string, Entry>, key: string, field: FormField, rest: string[], raw: string, path: Path): void {
    const existing = entries.get(key);
    if (field.kind === 'object') {
      if (!rest.length) return this.issue(path, `"${path.join('.')}" is an object: send its fields as ${key}[field]=value.`, 'invalid_type');
      let entry = existing;
      if (!entry) entries.set(key, (entry = { kind: 'object', map: new Map() }));
      if (entry.kind !== 'object') return;
      const sub = this.field(field, rest[0]!, [...path, rest[0]!]);
      if (sub) this.put(entry.map, rest[0]!, sub, rest.slice(1), raw, [...path, rest[0]!]);
      return;
    }
    if (field.kind === 'array') {
      let entry = existing;
      if (!entry) entries.set(key, (entry = { kind: 'array', pushed: [], indexed: new Map() }));
      if (entry.kind !== 'array') return;
      return this.putItem(entry, field.items, rest, raw, path);
    }
    if (rest.length) return this.issue(path, `"${path.join('.')}" is a single value, not an object or a list.`, 'invalid_type');
    if (existing) return this.issue(path, `"${path.join('.')}" is sent more than once.`, 'duplicate_key');
    entries.set(key, { kind: 'value', value: this.scalar(field.kind, raw, path) });
  }

  /** One item of an array: `k=v`, `k[]=v` appended; `k[2]=v`, `k[2][f]=v` at an index. */
  putItem(entry: { pushed: Entry[]; indexed: Map<number, Entry> }, items: FormField, rest: string[], raw: string, path: Path): void {
    if (!rest.length || (rest.length === 1 && rest[0] === '')) {
      if (items.kind === 'object' || items.kind === 'array') return this.issue(path, `"${path.join('.')}" is a list of ${items.kind}s: send each as ${String(path.at(-1))}[index][field]=value.`, 'invalid_type');
      entry.pushed.push({ kind: 'value', value: this.scalar(items.kind, raw, [...path, entry.pushed.length]) });
      return;
    }
    if (!INDEX.test(rest[0]!)) return this.issue(path, `"${rest[0]}" is not an index of the list "${path.join('.')}".`, 'invalid_key');
    const index = Number(rest[0]);
    // The index goes in as a string key of a one-entry map, so that put() handles every kind alike.
    const holder = new Map<string, Entry>();
    const had = entry.indexed.get(index);
    if (had) holder.set('i', had);
    this.put(holder, 'i', items, rest.slice(1), raw, [...path, index]);
    const now = holder.get('i');
    if (now) entry.indexed.set(index, now);
  }

  scalar(kind: 'string' | 'integer' | 'number' | 'boolean' | 'json', raw: string, path: Path): unknown {
    if (kind === 'string') return raw;
    const name = path.join('.');
    switch (kind) {
      case 'integer':
        if (/^-?(0|[1-9]\d*)$/.test(raw)) return Number(raw);
        this.issue(path, `"${name}" must be an integer, not ${JSON.stringify(raw.slice(0, 40))}.`, 'invalid_type');
        return raw;
      case 'number':
        if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(raw)) return Number(raw);
        this.issue(path, `"${name}" must be a number, not ${JSON.stringify(raw.slice(0, 40))}.`, 'invalid_type');
        return raw;
      case 'boolean':
        if (raw === 'true' || raw === 'false') return raw === 'true';
        this.issue(path, `"${name}" must be true or false, not ${JSON.stringify(raw.slice(0, 40))}.`, 'invalid_type');
        return raw;
      case 'json':
        try {
          if (nestsTooDeep(raw)) throw new Error('nested too deep');
          return JSON.parse(raw);
        } catch {
          this.issue(path, `"${name}" must be a JSON text.`, 'invalid_json');
          return raw;
        }
      default:
        return raw;
    }
  }

  /** The value of an entry as the schema will see it; arrays checked for mixed styles and gaps. */
  finish(entry: Entry, path: Path): unknown {
    if (entry.kind === 'value') return entry.value;
    if (entry.kind === 'object') return this.finishObject(entry.map, path);
    if (entry.pushed.length && entry.indexed.size) {
      this.issue(path, `"${path.join('.')}" mixes indexed items (${String(path.at(-1))}[0]) with unindexed ones.`, 'invalid_key');
      return [];
    }
    if (!entry.indexed.size) return entry.pushed.map((e, i) => this.finish(e, [...path, i]));
    const out: unknown[] = [];
    for (let i = 0; i < entry.indexed.size; i++) {
      const item = entry.indexed.get(i);
      if (!item) {
        this.issue(path, `The indexes of "${path.join('.')}" must run from 0 without gaps.`, 'invalid_key');
        return [];
      }
      out.push(this.finish(item, [...path, i]));
    }
    return out;
  }

  finishObject(map: Map<string, Entry>, path: Path): { [key: string]: unknown } {
    const out: { [key: string]: unknown } = {};
    for (const [key, entry] of map) {
      const value = this.finish(entry, [...path, key]);
      // `__proto__` is refused before it gets here (field()); were it not, it is defined, never
      // assigned, so that no prototype is set. Every other name assigns an own key.
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
    }
    return out;
  }
}

/** `a[b][0]` -> ['a', 'b', '0']; null when the brackets are malformed. */
function splitKey(key: string): string[] | null {
  const open = key.indexOf('[');
  if (open === -1) return key.includes(']') ? null : [key];
  const out = [key.slice(0, open)];
  let at = open;
  while (at < key.length) {
    if (key[at] !== '[') return null;
    const close = key.indexOf(']', at);
    if (close === -1) return null;
    const seg = key.slice(at + 1, close);
    if (seg.includes('[')) return null;
    out.push(seg);
    at = close + 1;
  }
  return out;
}

const NEEDS_DECODING = /[%+]/;

/** Percent-decoding as forms do it (`+` is a space); null for a malformed `%` or invalid UTF-8. */
function formUnescape(text: string): string | null {
  // Most keys and many values need no decoding: no copy, no decoder call (half the cost of a body).
  if (!NEEDS_DECODING.test(text)) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** More than MAX_FORM_PAIRS non-empty `&`-separated parts, found without splitting the text. */
function tooManyPairs(text: string): boolean {
  let pairs = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end === -1) end = text.length;
    if (end > start && ++pairs > MAX_FORM_PAIRS) return true;
    start = end + 1;
  }
  return false;
}

/** A form body's text decoded by its plan: the value for the schema, or the issues for a 400. */
export function decodeForm(text: string, plan: FormPlan): { value: unknown; issues: ValidationIssue[] } {
  const decoder = new Decoder();
  const top = new Map<string, Entry>();
  // Counted before anything is split or decoded: a body over the bound costs a scan, and says so first.
  if (tooManyPairs(text)) {
    return { value: undefined, issues: [{ path: [], message: `A form body may hold at most ${MAX_FORM_PAIRS} fields.`, code: 'too_many_keys' }] };
  }
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = formUnescape(eq === -1 ? part : part.slice(0, eq));
    const raw = formUnescape(eq === -1 ? '' : part.slice(eq + 1));
    if (key === null || raw === null) {
      decoder.issue(key === null ? [] : [key], `Malformed percent-encoding in ${JSON.stringify(part.slice(0, 60))}.`, 'invalid_encoding');
      continue;
    }
    const segments = splitKey(key);
    if (!segments || segments[0] === '') {
      decoder.issue([], `Malformed field name ${JSON.stringify(key.slice(0, 60))}.`, 'invalid_key');
      continue;
    }
    if (segments.length - 1 > MAX_FORM_DEPTH) {
      decoder.issue([segments[0]!], `Field names may nest at most ${MAX_FORM_DEPTH} brackets deep.`, 'too_deep');
      continue;
    }
    const field = decoder.field(plan, segments[0]!, [segments[0]!]);
    if (field) decoder.put(top, segments[0]!, field, segments.slice(1), raw, [segments[0]!]);
  }
  const value = decoder.finishObject(top, []);
  return { value, issues: decoder.issues };
}
