/**
 * zod backend: JSON Schema -> zod 4 code text. Validates what is safe to validate and never rejects
 * what the spec allows: objects are loose unless `additionalProperties: false`, formats use
 * permissive patterns, regexes JS cannot compile are skipped, `not` is ignored; `minProperties` /
 * `maxProperties` count own keys.
 * The emitted code relies on `z` and the `lv` helpers of ZOD_PRELUDE.
 */
import type { IrSchemaComponent, JsonSchema } from '../ir-types.js';
import { propertyKey } from '../names.js';
import { type Additional, type Discriminator, type PropertyNode, type SchemaBackend, SchemaEnv, walkSchema } from './walker.js';

/**
 * Helpers every validators file needs. Composite schemas are built through these wrappers, whose
 * parameters are `any` and whose results are plain `z.ZodType`: tsc then never infers, compares or
 * prints a nested zod generic (each distinct one costs ~100 ms to relate to ZodType; GitHub's spec
 * has tens of thousands). Literal sets go through `lv.literal` for the same reason, and member
 * lists are typed as tuples so that tsc does not subtype-reduce their elements.
 * Formats are deliberately lenient (RFC 3339 allows `t`, `z`, any fraction, no colon in offsets...).
 */
export const ZOD_PRELUDE = `// eslint-disable-next-line @typescript-eslint/no-explicit-any
type lv_any = any;
type lv_shape = { [key: string]: lv_any };
/** A tuple type on purpose: an array literal typed by it is not reduced to a best common type (seconds per union on GitHub's spec). */
type lv_list = [lv_any, ...lv_any[]];
/**
 * Every helper result is erased to z.ZodType through \`unknown\`: relating two zod instantiations
 * (ZodLazy to ZodType...) makes tsc measure zod's variances, ~10 s of checking on its own.
 */
const lv_t = (schema: unknown): z.ZodType => schema as z.ZodType;
/**
 * \`uniqueItems\`: items compared by their JSON text, so objects whose keys differ only in order
 * count as different (it never rejects what the spec allows).
 */
const lv_unique = (schema: z.ZodType) =>
  lv_t(schema.refine(
    (v: unknown) => !Array.isArray(v) || new Set(v.map((item) => JSON.stringify(item) ?? typeof item)).size === v.length,
    'expected unique items',
  ));
const lv = {
  fmt: {
    dateTime: /^\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:?\\d{2})$/,
    date: /^\\d{4}-\\d{2}-\\d{2}$/,
    uuid: /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/,
    email: /^[^\\s@]+@[^\\s@]+$/,
    uri: /^[A-Za-z][A-Za-z0-9+.-]*:\\S*$/,
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
  object: (shape: lv_shape) => lv_t(z.looseObject(shape)),
  strict: (shape: lv_shape) => lv_t(z.strictObject(shape)),
  catchall: (shape: lv_shape, rest: lv_any) => lv_t(z.object(shape).catchall(rest)),
  record: (value: lv_any) => lv_t(z.record(z.string(), value)),
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
  and: (a: lv_any, b: lv_any) => lv_t(z.intersection(a, b)),
  /** \`minProperties\` / \`maxProperties\`: counts the own keys of an object value (the wrapped schema checks the rest). */
  props: (schema: lv_any, min: number, max?: number) =>
    lv_t(
      schema.refine(
        (v: unknown) => {
          if (typeof v !== 'object' || v === null || Array.isArray(v)) return true;
          const n = Object.keys(v).length;
          return n >= min && n <= (max ?? Infinity);
        },
        max === undefined
          ? \`expected at least \${min} propert\${min === 1 ? 'y' : 'ies'}\`
          : min === 0
            ? \`expected at most \${max} propert\${max === 1 ? 'y' : 'ies'}\`
            : \`expected between \${min} and \${max} properties\`,
      ),
    ),
};`;

const FORMATS: { [format: string]: string } = { 'date-time': 'dateTime', date: 'date', uuid: 'uuid', email: 'email', uri: 'uri' };

export interface ZodNode {
  code: string;
}

export interface ZodOptions {
  /** Prefix for component validators (`$.Pet`): '$.' in validators.gen.ts. */
  refPrefix?: string;
}

const node = (code: string): ZodNode => ({ code });
const UNKNOWN = 'z.unknown()';

function indent(text: string): string {
  return text.replace(/\n/g, '\n  ');
}

/** A `pattern` as JS source, or null when JS cannot compile it (then it is not checked). */
export function regexSource(pattern: unknown): string | null {
  if (typeof pattern !== 'string') return null;
  for (const flags of ['u', '']) {
    try {
      new RegExp(pattern, flags);
      return `new RegExp(${JSON.stringify(pattern)}${flags ? `, '${flags}'` : ''})`;
    } catch {
      // try the next flag set
    }
  }
  return null;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isPrimitive = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

class ZodBackend implements SchemaBackend<ZodNode> {
  constructor(private readonly refPrefix: string) {}
  ref(c: IrSchemaComponent): ZodNode {
    return node(this.refPrefix + c.identifier);
  }
  any(): ZodNode {
    return node(UNKNOWN);
  }
  never(): ZodNode {
    return node('z.never()');
  }
  literal(values: unknown[]): ZodNode {
    if (!values.every(isPrimitive)) return node(UNKNOWN); // object/array enum members: accepted loosely
    const unique = [...new Set(values.map((v) => JSON.stringify(v)))];
    return node(`lv.literal([${unique.join(', ')}])`);
  }
  string(s: { [k: string]: unknown }): ZodNode {
    let code = 'z.string()';
    if (isNum(s.minLength) && s.minLength > 0) code += `.min(${s.minLength})`;
    if (isNum(s.maxLength)) code += `.max(${s.maxLength})`;
    const fmt = typeof s.format === 'string' ? FORMATS[s.format] : undefined;
    if (fmt) code += `.regex(lv.fmt.${fmt})`;
    const re = regexSource(s.pattern);
    if (re) code += `.regex(${re})`;
    return node(code);
  }
  binary(): ZodNode {
    return node('z.any()'); // a stream or a buffer, never JSON
  }
  number(s: { [k: string]: unknown }, integer: boolean): ZodNode {
    let code = integer ? 'z.number().int()' : 'z.number()';
    if (isNum(s.minimum)) code += `.gte(${s.minimum})`;
    if (isNum(s.maximum)) code += `.lte(${s.maximum})`;
    if (isNum(s.exclusiveMinimum)) code += `.gt(${s.exclusiveMinimum})`;
    if (isNum(s.exclusiveMaximum)) code += `.lt(${s.exclusiveMaximum})`;
    if (isNum(s.multipleOf) && s.multipleOf > 0) code += `.multipleOf(${s.multipleOf})`;
    return node(code);
  }
  boolean(): ZodNode {
    return node('z.boolean()');
  }
  null(): ZodNode {
    return node('z.null()');
  }
  array(items: ZodNode | null | false, prefix: ZodNode[], s: { [k: string]: unknown }): ZodNode {
    const min = isNum(s.minItems) && s.minItems > 0 ? s.minItems : undefined;
    const max = isNum(s.maxItems) ? s.maxItems : undefined;
    const unique = s.uniqueItems === true;
    const bounds = max !== undefined ? `, ${min ?? 'undefined'}, ${max}` : min !== undefined ? `, ${min}` : '';
    if (prefix.length) {
      const elems = prefix.map((p, i) => (i >= (min ?? 0) ? `${p.code}.optional()` : p.code));
      const rest = items === false ? 'null' : items ? items.code : UNKNOWN;
      const tuple = `lv.tuple([${elems.join(', ')}], ${rest}${bounds})`;
      return node(unique ? `lv.unique(${tuple})` : tuple);
    }
    const arrayArgs = unique ? `, ${min ?? 'undefined'}, ${max ?? 'undefined'}, true` : bounds;
    return node(`lv.array(${items ? items.code : items === false ? 'z.never()' : UNKNOWN}${arrayArgs})`);
  }
  object(props: PropertyNode<ZodNode>[], additional: Additional<ZodNode>, s: { [k: string]: unknown }): ZodNode {
    const code = this.objectCode(props, additional);
    const min = isNum(s.minProperties) && s.minProperties > 0 ? s.minProperties : 0;
    const max = isNum(s.maxProperties) && s.maxProperties >= 0 ? s.maxProperties : undefined;
    if (!min && max === undefined) return node(code);
    return node(`lv.props(${code}, ${min}${max === undefined ? '' : `, ${max}`})`);
  }
  private objectCode(props: PropertyNode<ZodNode>[], additional: Additional<ZodNode>): string {
    if (!props.length && typeof additional === 'object') return `lv.record(${additional.code})`;
    const fields = props.map((p) => `${propertyKey(p.name)}: ${p.required ? p.node.code : `${p.node.code}.optional()`},`);
    const body = fields.length ? `{\n  ${indent(fields.join('\n'))}\n}` : '{}';
    if (additional === false) return `lv.strict(${body})`;
    if (typeof additional === 'object') return `lv.catchall(${body}, ${additional.code})`;
    return `lv.object(${body})`;
  }
  union(members: ZodNode[], discriminator?: Discriminator): ZodNode {
    const codes = [...new Set(members.map((m) => m.code))];
    if (codes.includes(UNKNOWN)) return node(UNKNOWN);
    if (codes.length === 1) return node(codes[0]!);
    const nonNull = codes.filter((c) => c !== 'z.null()');
    if (nonNull.length === 1 && codes.length === 2) return node(`${nonNull[0]}.nullable()`);
    const list = `[\n  ${indent(codes.join(',\n'))},\n]`;
    if (discriminator?.literalMembers) return node(`lv.discriminated(${JSON.stringify(discriminator.propertyName)}, ${list})`);
    return node(`lv.union(${list})`);
  }
  intersection(members: ZodNode[]): ZodNode {
    const codes = [...new Set(members.map((m) => m.code))].filter((c) => c !== UNKNOWN);
    if (!codes.length) return node(UNKNOWN);
    return node(codes.reduceRight((acc, c) => `lv.and(${c}, ${acc})`));
  }
}

/** One schema as zod code text. */
export function zodCode(schema: JsonSchema, env: SchemaEnv, opts: ZodOptions = {}): string {
  return walkSchema(schema, new ZodBackend(opts.refPrefix ?? '$.'), env).code;
}
