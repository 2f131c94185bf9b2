/**
 * What every validators.gen.ts starts and ends with: the zod helpers (`lv`), the parameter
 * coercions (`lvp`), `OperationValidators` and `responseSchema`.
 * A real module so that tsc (`npm run typecheck`) checks it with the repository; the validators
 * emitter copies each `// #region <name>` block into validators.gen.ts verbatim. Lines outside the regions only
 * stand in for what validators.gen.ts declares around the blocks (here: the zod import).
 */
import { z } from 'zod';

/*
 * `prelude`, before the component validators. Composite schemas are built through the `lv` wrappers,
 * whose parameters are `any` and whose results are plain `z.ZodType`: tsc then never infers, compares
 * or prints a nested zod generic (each distinct one costs ~100 ms to relate to ZodType; GitHub's spec
 * has tens of thousands). Literal sets go through `lv.literal` for the same reason, and member lists
 * are typed as tuples so that tsc does not subtype-reduce their elements. Formats are deliberately
 * lenient (RFC 3339 allows `t`, `z`, any fraction, no colon in offsets...). `lvp` turns path, query
 * and header strings (or string arrays for repeated query keys) into what the schema expects before
 * zod validates. `lv`/`lvp` are reserved by the IR so no operation const can shadow them.
 */
// #region prelude
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type lv_any = any;
type lv_shape = { [key: string]: lv_any };
/** A tuple type on purpose: an array literal typed by it is not reduced to a best common type (seconds per union on GitHub's spec). */
type lv_list = [lv_any, ...lv_any[]];
/**
 * Every helper result is erased to z.ZodType through `unknown`: relating two zod instantiations
 * (ZodLazy to ZodType...) makes tsc measure zod's variances, ~10 s of checking on its own.
 */
const lv_t = (schema: unknown): z.ZodType => schema as z.ZodType;
/**
 * `uniqueItems`: items compared by their JSON text, so objects whose keys differ only in order
 * count as different (it never rejects what the spec allows).
 */
const lv_unique = (schema: z.ZodType) =>
  lv_t(schema.refine(
    (v: unknown) => !Array.isArray(v) || new Set(v.map((item) => JSON.stringify(item) ?? typeof item)).size === v.length,
    'expected unique items',
  ));
/**
 * A shape whose keys include an Object.prototype member (`constructor`, `toString`, `valueOf`...):
 * zod reads `input[key]`, so a JSON object without that key would hand the field the inherited
 * function (an optional `constructor: integer` refusing `{}`). Such fields see `undefined` instead:
 * no JSON value is a function, so that one is always the inherited member. Other shapes are returned as they are.
 */
const lv_own = (shape: lv_shape): lv_shape => {
  let out = shape;
  for (const key of Object.keys(shape)) {
    if (key === '__proto__' || !(key in Object.prototype)) continue;
    const inherited = (Object.prototype as { [key: string]: unknown })[key];
    if (out === shape) out = { ...shape };
    out[key] = z.preprocess((v) => (v === inherited ? undefined : v), shape[key]);
  }
  return out;
};
const lv = {
  fmt: {
    dateTime: /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$/,
    date: /^\d{4}-\d{2}-\d{2}$/,
    uuid: /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/,
    email: /^[^\s@]+@[^\s@]+$/,
    uri: /^[A-Za-z][A-Za-z0-9+.-]*:\S*$/,
  },
  /** Component schemas: resolved on first use, so order does not matter and recursion works. */
  lazy: (get: () => lv_any) => lv_t(z.lazy(get)),
  /** Any other schema expression placed where a z.ZodType is expected. */
  is: lv_t,
  literal: (values: (string | number | boolean | null)[]) => {
    if (values.length === 1) return lv_t(z.literal(values[0]!));
    if (values.every((v) => typeof v === 'string')) return lv_t(z.enum(values as [string]));
    return lv_t(z.literal(values as [string]));
  },
  object: (shape: lv_shape) => lv_t(z.looseObject(lv_own(shape))),
  strict: (shape: lv_shape) => lv_t(z.strictObject(lv_own(shape))),
  catchall: (shape: lv_shape, rest: lv_any) => lv_t(z.object(lv_own(shape)).catchall(rest)),
  record: (value: lv_any) => lv_t(z.record(z.string(), value)),
  /** A property this direction must not carry (read-only in a request, write-only in a response): absent, or refused with `message`. */
  absent: (message: string) => lv_t(z.never({ error: message }).optional()),
  array: (item: lv_any, min?: number, max?: number, unique?: boolean) => {
    let a = z.array(item);
    if (min !== undefined) a = a.min(min);
    if (max !== undefined) a = a.max(max);
    return unique ? lv_unique(a) : lv_t(a);
  },
  unique: lv_unique,
  tuple: (items: lv_list, rest: lv_any, min?: number, max?: number) => {
    let t: z.ZodType;
    if (rest) t = lv_t(z.tuple(items, rest));
    else t = lv_t(z.tuple(items));
    if (min === undefined && max === undefined) return t;
    return lv_t(t.refine((v) => Array.isArray(v) && v.length >= (min ?? 0) && v.length <= (max ?? Infinity), 'wrong number of items'));
  },
  union: (members: lv_list) => lv_t(z.union(members)),
  /** Members are lazy components, which zod's signature cannot see as objects. */
  discriminated: (key: string, members: lv_list) => lv_t(z.discriminatedUnion(key, members)),
  /**
   * A discriminator whose members leave its values to the mapping (or to their names): each member
   * behind a check of the values that select it, so zod dispatches on the value as it does for
   * `discriminated`, then the member checks the whole object.
   */
  mapped: (key: string, members: [values: [string, ...string[]], schema: lv_any][]) =>
    lv_t(z.discriminatedUnion(key, members.map(([values, schema]) => z.looseObject({ [key]: lv.literal(values) }).pipe(schema)) as lv_list)),
  and: (a: lv_any, b: lv_any) => lv_t(z.intersection(a, b)),
  /**
   * `minProperties` / `maxProperties`: counts the own keys of an object value before the wrapped
   * schema looks at any of them (a refinement after it would run only once every one of 100,000
   * keys had been checked and copied); anything else is left to the wrapped schema.
   */
  props: (schema: lv_any, min: number, max?: number) =>
    lv_t(
      z.unknown().refine(
        (v: unknown) => {
          if (typeof v !== 'object' || v === null || Array.isArray(v)) return true;
          const n = Object.keys(v).length;
          return n >= min && n <= (max ?? Infinity);
        },
        max === undefined
          ? `expected at least ${min} propert${min === 1 ? 'y' : 'ies'}`
          : min === 0
            ? `expected at most ${max} propert${max === 1 ? 'y' : 'ies'}`
            : `expected between ${min} and ${max} properties`,
      ).pipe(schema),
    ),
};

type lv_fn = (v: unknown) => unknown;
/** One field of a form body: a scalar or JSON text, a list (the key repeated), or a deepObject's brackets. */
type lv_form_field =
  | { kind: 'string' | 'integer' | 'number' | 'boolean' | 'json' }
  | { kind: 'array'; items: lv_form_field }
  | { kind: 'object'; properties: { [name: string]: lv_form_field }; additional: lv_form_field | null };
/** A form body's fields, and what any other key is (null: refused). */
type lv_form = { properties: { [name: string]: lv_form_field }; additional: lv_form_field | null };
/**
 * What a fast check (`fastPath`, `fastQuery`, `fastHeaders`, `fastBody`, generated from the spec
 * next to the zod validators) answers when it does not vouch for its input: the runtime then asks
 * zod. `Symbol.for`, so that the runtime knows it without importing generated code.
 */
const lv_no: unique symbol = Symbol.for('lavendly.fast-check.no') as never;
/** A fast check: the value zod's parse would give, or `lv_no`. */
type lv_check = (v: lv_any) => unknown;
/** The fast check of a location without parameters: `lvp.params({})` makes a new empty object of any object. */
const lv_no_params: lv_check = (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? {} : lv_no);
/** A string's length as zod measures it: in code points (a surrogate pair once, a lone surrogate as itself). */
const lv_cp = (s: string): number => {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n--;
      i++;
    }
  }
  return n;
};
/** An operation without a request body ignores whatever body parsing produced. */
const lv_none = lv_t(z.any().transform(() => undefined));
const lvp = {
  /**
   * Numbers as JSON writes them, integers without a fraction or exponent: `Number()` alone would
   * also take `0x10`, `1e1`, ` 5`, `+5` and `5.0`. Anything else stays a string, which the schema refuses.
   */
  num: ((v) => (typeof v === 'string' && /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(v) ? Number(v) : v)) as lv_fn,
  int: ((v) => (typeof v === 'string' && /^-?(0|[1-9]\d*)$/.test(v) ? Number(v) : v)) as lv_fn,
  bool: ((v) => (v === 'true' ? true : v === 'false' ? false : v)) as lv_fn,
  json: ((v) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }) as lv_fn,
  any: ((v) => v) as lv_fn,
  /** Array parameters: repeated keys arrive as arrays, delimited styles as one string (sep null: one item). */
  split: (sep: string | null, item: lv_fn): lv_fn => (v) => {
    if (v === undefined) return v;
    const list = Array.isArray(v) ? v : typeof v === 'string' ? (sep === null ? [v] : v === '' ? [] : v.split(sep)) : v;
    return Array.isArray(list) ? list.map(item) : list;
  },
  /** Path styles label (`.a`) and matrix (`;id=a`) put a prefix before the value. */
  path: (style: string, name: string, inner: lv_fn): lv_fn => (v) => {
    if (typeof v !== 'string') return inner(v);
    if (style === 'label' && v.startsWith('.')) return inner(v.slice(1));
    if (style === 'matrix' && v.startsWith(';' + name + '=')) return inner(v.slice(name.length + 2));
    return inner(v);
  },
  default: (value: unknown, inner: lv_fn): lv_fn => (v) => (v === undefined ? value : inner(v)),
  /** Object parameters: each property's string coerced by its own schema. */
  fields: (coerce: { [key: string]: lv_fn }): lv_fn => (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const out: { [key: string]: unknown } = { ...(v as object) };
    for (const [key, fn] of Object.entries(coerce)) if (key in out) out[key] = fn(out[key]);
    return out;
  },
  /** Non-exploded object parameters: `k1,v1,k2,v2` (form, simple, label). */
  pairs: (sep: string, inner: lv_fn): lv_fn => (v) => {
    if (typeof v !== 'string') return inner(v);
    const parts = v.split(sep);
    const out: { [key: string]: unknown } = {};
    for (let i = 0; i + 1 < parts.length; i += 2) out[parts[i]!] = parts[i + 1];
    return inner(out);
  },
  /** deepObject (`f[a]=1`) and exploded form objects (`a=1&b=2`) are gathered under their parameter name. */
  query: (deep: string[], spread: [string, string[]][]): lv_fn => (q) => {
    if (typeof q !== 'object' || q === null) return q;
    const out: { [key: string]: unknown } = { ...(q as object) };
    // Own keys only, and defined rather than assigned: names come from the client (`f[__proto__]`)
    // or the spec (a parameter called `constructor`), and must not reach a prototype.
    const has = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);
    const put = (o: object, key: string, value: unknown) =>
      Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
    for (const name of deep) {
      const prefix = name + '[';
      for (const key of Object.keys(out)) {
        if (!key.startsWith(prefix) || !key.endsWith(']')) continue;
        if (!has(out, name)) put(out, name, {});
        const target = out[name];
        // `f=x&f[a]=1`: a plain value has no fields to add to; both are left for the schema to refuse.
        if (typeof target !== 'object' || target === null || Array.isArray(target)) continue;
        put(target, key.slice(prefix.length, -1), out[key]);
        delete out[key];
      }
    }
    for (const [name, keys] of spread) {
      const present = keys.filter((k) => has(out, k));
      if (!present.length || has(out, name)) continue;
      put(out, name, Object.fromEntries(present.map((k) => [k, out[k]])));
    }
    return out;
  },
  /** Parameters: declared ones are validated, unknown ones dropped. */
  /** One operation's validators; `body` defaults to the first declared content type's, else no body. */
  op: (parts: Omit<OperationValidators, 'body'> & { body?: z.ZodType }): OperationValidators => ({
    ...parts,
    body: parts.body ?? Object.values(parts.bodies)[0] ?? lv_none,
  }),
  params: (shape: lv_shape) => lv_t(z.object(lv_own(shape))),
  coerce: (fn: lv_fn, schema: lv_any) => lv_t(z.preprocess(fn, schema)),
};

export interface OperationValidators {
  path: z.ZodType;
  query: z.ZodType;
  /** Keys are lower-cased header names. */
  headers: z.ZodType;
  /** The first declared request content type (JSON first); `undefined` out when none is declared. */
  body: z.ZodType;
  /** Every declared request content type. */
  bodies: { [contentType: string]: z.ZodType };
  /** How each form body the runtime decodes is read before `bodies` checks it (plain data). */
  forms?: { [contentType: string]: lv_form };
  /**
   * Plain checks of `path`, `query`, `headers` and `body`, where their schemas have only what such
   * checks cover: the value the zod parse would give for an input it accepts, or the
   * `lavendly.fast-check.no` symbol, never a value zod would refuse. On "no", zod decides (and
   * words the error).
   */
  fastPath?: lv_check;
  fastQuery?: lv_check;
  fastHeaders?: lv_check;
  fastBody?: lv_check;
  /** By status key as in the spec: '200', '4XX', 'default'. `z.undefined()` when the response has no content. */
  responses: { [status: string]: z.ZodType };
}
// #endregion

/* `response-schema`, after the operations' validators. */
// #region response-schema
/** The validator of a response status: the exact code, else its range (`4XX`), else `default`. */
export function responseSchema(v: OperationValidators, status: number): z.ZodType | undefined {
  return v.responses[String(status)] ?? v.responses[`${String(status)[0]}XX`] ?? v.responses['default'];
}
// #endregion

/* In validators.gen.ts the component and operation validators use the helpers; here nothing would. */
export { lv, lvp, lv_no, lv_cp, lv_no_params };
