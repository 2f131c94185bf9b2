/**
 * Request bodies for the fast-check differential test: valid seeds built from a schema (and the
 * spec's examples), then every seed mutated at every place in it: fields left out, wrong types,
 * lengths and bounds one either side of each limit, unicode that counts two UTF-16 units per
 * character, extra and prototype-named keys, arrays emptied, overfilled and nested. Each variant
 * goes through JSON text, as a request body does.
 */
import type { IrDocument, JsonSchema } from '../../generator/ir-types.js';
import { isObj, SchemaEnv } from '../../generator/schema/walker.js';

type Obj = { [key: string]: unknown };

/** Values every place gets tried with, whatever its schema says. */
const PALETTE: unknown[] = [
  null, true, false, 0, -0, 1, -1, 0.5, 2 ** 53, -(2 ** 53), 1e21, '', 'a', 'ab', 'é', '😀', '😀😀', ' ', '0', 'true', 'null', [], [null], {}, { a: 1 },
];

const FORMAT_SAMPLES: Record<string, string[]> = {
  'date-time': ['2026-01-02T03:04:05Z', '2026-01-02t03:04:05.123+01:00', '2026-01-02 03:04:05', '2026-01-02'],
  date: ['2026-01-02', '2026-1-2'],
  uuid: ['123e4567-e89b-12d3-a456-426614174000', '123e4567e89b12d3a456426614174000', 'not-a-uuid'],
  email: ['a@b.example', 'a b@c', '@b'],
  uri: ['https://example.com/x', 'mailto:a@b', 'example.com', 'https://a b'],
};

export class BodyVariants {
  private readonly env: SchemaEnv;
  /** Every string in the spec's examples: candidates for patterned strings. */
  private readonly pool: string[];

  constructor(ir: IrDocument) {
    this.env = new SchemaEnv(ir.schemas);
    const strings = new Set<string>(Object.values(FORMAT_SAMPLES).flat());
    const collect = (v: unknown): void => {
      if (typeof v === 'string') strings.add(v);
      else if (Array.isArray(v)) v.forEach(collect);
      else if (isObj(v)) Object.values(v).forEach(collect);
    };
    for (const op of ir.operations) {
      for (const m of [...(op.requestBody?.contents ?? []), ...op.responses.flatMap((r) => r.contents)]) collect(m.examples);
    }
    for (const c of ir.schemas) collect(c.schema);
    this.pool = [...strings];
  }

  /** Seeds (examples, the least and the fullest valid value) and every mutation of each. */
  all(schema: JsonSchema, examples: unknown[]): unknown[] {
    const seeds = [...examples, this.sample(schema, 'least'), this.sample(schema, 'most')].filter((s) => s !== undefined);
    const out: unknown[] = [undefined, ...seeds];
    for (const seed of seeds) this.mutate(schema, seed, [], seed, out);
    return out.map((v) => (v === undefined ? undefined : JSON.parse(typeof v === 'string' && v.startsWith(RAW) ? v.slice(RAW.length) : JSON.stringify(v))));
  }

  private deref(schema: JsonSchema): Obj {
    const s = this.env.deref(schema);
    return isObj(s) ? s : {};
  }

  /** A value the schema should accept, or undefined when none could be made. */
  sample(schema: JsonSchema, mode: 'least' | 'most', depth = 0): unknown {
    const s = this.deref(schema);
    if (depth > 6) return undefined;
    if ('const' in s) return s.const;
    if (Array.isArray(s.enum)) return mode === 'least' ? s.enum[0] : s.enum[s.enum.length - 1];
    for (const key of ['oneOf', 'anyOf', 'allOf']) {
      if (Array.isArray(s[key])) {
        for (const m of s[key] as JsonSchema[]) {
          const v = this.sample(m, mode, depth + 1);
          if (v !== undefined) return v;
        }
      }
    }
    const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : isObj(s.properties) ? ['object'] : 'items' in s ? ['array'] : [];
    const type = types.find((t) => t !== 'null') ?? types[0];
    const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : undefined);
    switch (type) {
      case 'string':
        return this.string(s, mode);
      case 'integer': {
        const lo = num('minimum') ?? (num('exclusiveMinimum') !== undefined ? Math.floor(num('exclusiveMinimum')!) + 1 : undefined);
        const hi = num('maximum') ?? (num('exclusiveMaximum') !== undefined ? Math.ceil(num('exclusiveMaximum')!) - 1 : undefined);
        return mode === 'least' ? (lo ?? 0) : (hi ?? (lo ?? 0) + 7);
      }
      case 'number': {
        const lo = num('minimum') ?? (num('exclusiveMinimum') !== undefined ? num('exclusiveMinimum')! + 0.25 : undefined);
        const hi = num('maximum') ?? (num('exclusiveMaximum') !== undefined ? num('exclusiveMaximum')! - 0.25 : undefined);
        return mode === 'least' ? (lo ?? 0.5) : (hi ?? (lo ?? 0) + 2.5);
      }
      case 'boolean':
        return mode === 'least';
      case 'null':
        return null;
      case 'array': {
        const n = mode === 'least' ? (num('minItems') ?? 0) : Math.max(num('minItems') ?? 0, Math.min(num('maxItems') ?? 2, 2));
        const item = this.sample((s.items as JsonSchema) ?? true, mode, depth + 1) ?? 'x';
        return Array.from({ length: n }, () => structuredClone(item));
      }
      case 'object': {
        const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
        const out: Obj = {};
        for (const [name, sub] of Object.entries(isObj(s.properties) ? s.properties : {})) {
          if (mode === 'least' && !required.has(name)) continue;
          const v = this.sample(sub as JsonSchema, mode, depth + 1);
          if (v !== undefined) out[name] = v;
          else if (required.has(name)) return undefined;
        }
        return out;
      }
      default:
        return mode === 'least' ? {} : 'anything';
    }
  }

  private string(s: Obj, mode: 'least' | 'most'): string | undefined {
    const min = typeof s.minLength === 'number' ? s.minLength : 0;
    const max = typeof s.maxLength === 'number' ? s.maxLength : undefined;
    const fits = (v: string) => v.length >= min && (max === undefined || v.length <= max);
    if (typeof s.pattern === 'string' || (typeof s.format === 'string' && s.format in FORMAT_SAMPLES)) {
      const re = typeof s.pattern === 'string' ? new RegExp(s.pattern, 'u') : null;
      const formatted = typeof s.format === 'string' ? FORMAT_SAMPLES[s.format] : undefined;
      const found = (formatted ?? this.pool).find((v) => fits(v) && (!re || re.test(v)));
      return found;
    }
    if (mode === 'least') return 'a'.repeat(Math.max(min, 1) > (max ?? Infinity) ? min : Math.max(min, 1));
    return 'é'.repeat(Math.min(max ?? 12, 300));
  }

  /** Every mutation of `root` at `path` (where `value` sits) and below it, pushed onto `out`. */
  private mutate(schema: JsonSchema, value: unknown, path: (string | number)[], root: unknown, out: unknown[]): void {
    const s = this.deref(schema);
    const at = (v: unknown) => out.push(replaceAt(root, path, v));
    for (const v of PALETTE) at(v);
    for (const v of this.boundaries(s, value)) at(v);
    at([value]);
    if (Array.isArray(value)) {
      at([]);
      at(value.slice(1));
      at([...value, ...value]);
      if (value.length) at([...value, ...Array.from({ length: 60 }, () => value[0])]);
      at(value.map((item) => [item]));
      const items = (s.items as JsonSchema) ?? true;
      value.forEach((item, i) => this.mutate(items, item, [...path, i], root, out));
      return;
    }
    if (!isObj(value)) return;
    const props = isObj(s.properties) ? s.properties : {};
    at({ ...value, extra: 1 });
    at({ ...value, constructor: 'x' });
    at({ ...value, toString: 'x' });
    // A `__proto__` key only JSON text can make an own property of.
    const text = JSON.stringify(value);
    out.push(RAW + JSON.stringify(replaceAt(root, path, PROTO_MARK)).replace(`"${PROTO_MARK}"`, text === '{}' ? '{"__proto__":{}}' : `{"__proto__":{},${text.slice(1)}`));
    for (const name of Object.keys(props)) {
      if (!(name in value)) {
        // Fields left out of a seed, put back with the least and the fullest value.
        for (const mode of ['least', 'most'] as const) {
          const v = this.sample(props[name] as JsonSchema, mode);
          if (v !== undefined) at({ ...value, [name]: v });
        }
      }
    }
    for (const [name, v] of Object.entries(value)) {
      const { [name]: _gone, ...without } = value;
      at(without);
      this.mutate((props[name] as JsonSchema) ?? true, v, [...path, name], root, out);
    }
  }

  /** Values one either side of each limit of `s`, and near-misses of its literals. */
  private boundaries(s: Obj, value: unknown): unknown[] {
    const out: unknown[] = [];
    const n = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : undefined);
    for (const k of ['minLength', 'maxLength']) {
      const len = n(k);
      if (len === undefined) continue;
      for (const l of [len - 1, len, len + 1]) {
        if (l < 0 || l > 5000) continue;
        out.push('a'.repeat(l), 'é'.repeat(l));
        if (l % 2 === 0) out.push('😀'.repeat(l / 2));
        if (typeof value === 'string' && value.length) out.push((value.repeat(l) + value).slice(0, l));
      }
    }
    for (const k of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']) {
      const b = n(k);
      if (b !== undefined) out.push(b, b - 1, b + 1, b - 0.5, b + 0.5, b - 1e-9, b + 1e-9);
    }
    for (const k of ['minItems', 'maxItems']) {
      const len = n(k);
      if (len !== undefined && Array.isArray(value) && value.length) for (const l of [len - 1, len, len + 1]) if (l >= 0 && l < 200) out.push(Array.from({ length: l }, (_, i) => value[i % value.length]));
    }
    if (typeof value === 'string') out.push(value + 'x', value.slice(1), value.toUpperCase(), ` ${value}`, `${value}\n`, value + '😀');
    if (typeof value === 'number') out.push(value + 0.5, -value, String(value));
    for (const e of Array.isArray(s.enum) ? s.enum : 'const' in s ? [s.const] : []) {
      out.push(e, typeof e === 'string' ? `${e} ` : String(e));
    }
    for (const v of FORMAT_SAMPLES[typeof s.format === 'string' ? s.format : ''] ?? []) out.push(v);
    return out;
  }
}

/** Marks a variant given as JSON text (so that `__proto__` is an own key). */
const RAW = '\u0000raw:';
const PROTO_MARK = '@@own-proto-key@@';

function replaceAt(root: unknown, path: (string | number)[], v: unknown): unknown {
  if (!path.length) return v;
  const [head, ...rest] = path;
  if (Array.isArray(root)) return root.map((item, i) => (i === head ? replaceAt(item, rest, v) : item));
  return { ...(root as Obj), [head!]: replaceAt((root as Obj)[head!], rest, v) };
}
