/**
 * zod backend: JSON Schema -> zod 4 code text. Validates what is safe to validate and never rejects
 * what the spec allows: objects are loose unless `additionalProperties: false`, formats use
 * permissive patterns, regexes JS cannot compile are skipped, `not` is ignored; `minProperties` /
 * `maxProperties` count own keys.
 * The emitted code relies on `z` and the `lv` helpers (generator/templates/preludes/validators.ts).
 */
import type { IrSchemaComponent, JsonSchema } from '../ir-types.js';
import { propertyKey } from '../names.js';
import { type Additional, type Discriminator, type PropertyNode, type SchemaBackend, SchemaEnv, walkSchema } from './walker.js';

/** Formats checked, by name of their pattern in the prelude's `lv.fmt`; others are not checked. */
export const FORMATS: { [format: string]: string } = { 'date-time': 'dateTime', date: 'date', uuid: 'uuid', email: 'email', uri: 'uri' };

export interface ZodNode {
  code: string;
}

export interface ZodOptions {
  /** Prefix for component validators (`$.Pet`): '$.' in validators.gen.ts. */
  refPrefix?: string;
}

/** Why a hidden property is refused (the 400's issue message, or the response mismatch). */
const ABSENT_MESSAGES = {
  readOnly: 'read-only: the server sets it, leave it out of the request',
  writeOnly: 'write-only: a response must not include it',
} as const;

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
    const fields = props.map((p) => {
      if (p.absent) return `${propertyKey(p.name)}: lv.absent(${JSON.stringify(ABSENT_MESSAGES[p.absent])}),`;
      return `${propertyKey(p.name)}: ${p.required ? p.node.code : `${p.node.code}.optional()`},`;
    });
    const body = fields.length ? `{\n  ${indent(fields.join('\n'))}\n}` : '{}';
    if (additional === false) return `lv.strict(${body})`;
    if (typeof additional === 'object') return `lv.catchall(${body}, ${additional.code})`;
    return `lv.object(${body})`;
  }
  union(members: ZodNode[], discriminator?: Discriminator): ZodNode {
    if (discriminator?.values) {
      const list = members.map((m, i) => `[${JSON.stringify(discriminator.values![i])}, ${m.code}]`);
      return node(`lv.mapped(${JSON.stringify(discriminator.propertyName)}, [\n  ${indent(list.join(',\n'))},\n])`);
    }
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
