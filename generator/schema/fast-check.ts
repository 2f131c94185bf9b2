/**
 * Fast-check backend: JSON Schema -> plain JavaScript that accepts a valid request body without
 * zod and returns exactly the value the zod backend's validator would (new objects with the
 * declared keys in declaration order, loose objects' extra keys after them, new arrays, everything
 * else as given; no defaults, as zod applies none). When it is unsure it answers `lv_no`, and the
 * runtime asks zod, which also words the 400: a fast check may refuse what zod accepts, never
 * accept what zod refuses, and never return another value.
 *
 * It mirrors zod.ts decision for decision (same bounds, patterns and formats) and covers objects,
 * strings, numbers, booleans, null, literal sets, arrays, nullable members, unions of primitives
 * and component refs (min/maxProperties: the keys counted first, as zod.ts's `lv.props` does). Anything
 * else (tuples, uniqueItems, multipleOf, records, catchall schemas,
 * discriminated or object unions, intersections, recursion, binary) makes the
 * schema "unsupported": no fast check at all, and every request goes to zod as before.
 */
import type { IrSchemaComponent, JsonSchema } from '../ir-types.js';
import { type Additional, type Discriminator, type PropertyNode, type SchemaBackend, type SchemaEnv, walkSchema } from './walker.js';
import { FORMATS, regexSource } from './zod.js';

/** What the generated code calls the "no" answer and the component checks object. */
export const NO = 'lv_no';
export const CHECKS = 'lv_fast';

/** Emits the statements of one check into a function body and hands out local names. */
export class FastWriter {
  readonly lines: string[] = [];
  private depth = 1;
  private next = 0;
  /** Names of the regular expressions used, indexed into `lv_fast_re` (shared by the whole file). */
  constructor(private readonly patterns: string[]) {}
  name(prefix: string): string {
    return `${prefix}${this.next++}`;
  }
  line(text: string): void {
    this.lines.push('  '.repeat(this.depth) + text);
  }
  block(head: string, body: () => void): void {
    this.line(`${head} {`);
    this.depth++;
    body();
    this.depth--;
    this.line('}');
  }
  /** A regular expression source (or `lv.fmt.x`), declared once per file. */
  pattern(source: string): string {
    let i = this.patterns.indexOf(source);
    if (i < 0) i = this.patterns.push(source) - 1;
    return `lv_fast_re[${i}]!`;
  }
}

/**
 * One schema's check. `test`: a boolean expression over a plain local, for values returned as
 * they are (primitives, literals, anything). `gen`: statements that return `lv_no` on refusal and
 * leave an expression holding the output.
 */
export interface FastNode {
  test?: (x: string, w: FastWriter) => string;
  gen: (w: FastWriter, x: string) => string;
  /** Accepts undefined (anything goes): a required property must then be present to be taken. */
  acceptsUndefined?: true;
  /** zod.ts's own `z.unknown()` (not a component that is one), which its unions and intersections special-case. */
  unknown?: true;
  /** zod.ts's own `z.null()`, which its unions turn into `.nullable()`. */
  isNull?: true;
  /** The schema has something fast checks do not cover. */
  none?: true;
  /** Component checks this one calls (their functions must be emitted too). */
  calls: Set<string>;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isPrimitive = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

function testNode(test: (x: string, w: FastWriter) => string): FastNode {
  return { test, gen: (w, x) => (w.line(`if (!(${test(x, w)})) return ${NO};`), x), calls: new Set() };
}

const ANY: FastNode = { test: () => 'true', gen: (_w, x) => x, acceptsUndefined: true, unknown: true, calls: new Set() };

function union(calls: Iterable<Set<string>>): Set<string> {
  const all = new Set<string>();
  for (const c of calls) for (const name of c) all.add(name);
  return all;
}

/**
 * "Not covered". Not null: the walker reads a null typed part as "no type keyword here" and would
 * turn the schema into "anything" (that is how zod.ts's backend, whose nodes are never null, works).
 */
const NONE: FastNode = {
  gen: () => {
    throw new Error('an unsupported schema has no fast check');
  },
  none: true,
  calls: new Set(),
};
type Node = FastNode;

class FastBackend implements SchemaBackend<Node> {
  constructor(private readonly checks: FastChecks) {}
  ref(c: IrSchemaComponent): Node {
    const target = this.checks.component(c);
    if (!target) return NONE;
    // Literal sets and primitives are tested in place; objects and arrays are a call.
    if (target.test) return { ...target, unknown: undefined, isNull: undefined };
    const fn = `${CHECKS}.${c.identifier}`;
    return {
      gen: (w, x) => {
        const out = w.name('r');
        w.line(`const ${out} = ${fn}(${x});`);
        w.line(`if (${out} === ${NO}) return ${NO};`);
        return out;
      },
      calls: new Set([c.name]),
    };
  }
  any(): Node {
    return ANY;
  }
  never(): Node {
    return NONE;
  }
  literal(values: unknown[]): Node {
    if (!values.length || !values.every(isPrimitive)) return NONE;
    const unique = [...new Set(values.map((v) => JSON.stringify(v)))];
    return testNode((x) => unique.map((v) => `${x} === ${v}`).join(' || '));
  }
  string(s: { [k: string]: unknown }): Node {
    return testNode((x, w) => {
      const parts = [`typeof ${x} === 'string'`];
      // zod counts code points; a string's UTF-16 length settles it when the count cannot matter.
      if (isNum(s.minLength) && s.minLength > 0) parts.push(`(${x}.length >= ${s.minLength * 2} || lv_cp(${x}) >= ${s.minLength})`);
      if (isNum(s.maxLength)) parts.push(`(${x}.length <= ${s.maxLength} || lv_cp(${x}) <= ${s.maxLength})`);
      const fmt = typeof s.format === 'string' ? FORMATS[s.format] : undefined;
      if (fmt) parts.push(`${w.pattern(`lv.fmt.${fmt}`)}.test(${x})`);
      const re = regexSource(s.pattern);
      if (re) parts.push(`${w.pattern(re)}.test(${x})`);
      return parts.join(' && ');
    });
  }
  binary(): Node {
    return NONE;
  }
  number(s: { [k: string]: unknown }, integer: boolean): Node {
    if (isNum(s.multipleOf) && s.multipleOf > 0) return NONE; // zod's float-safe remainder is not copied here
    return testNode((x) => {
      const parts = [integer ? `Number.isSafeInteger(${x})` : `typeof ${x} === 'number' && Number.isFinite(${x})`];
      if (isNum(s.minimum)) parts.push(`${x} >= ${s.minimum}`);
      if (isNum(s.maximum)) parts.push(`${x} <= ${s.maximum}`);
      if (isNum(s.exclusiveMinimum)) parts.push(`${x} > ${s.exclusiveMinimum}`);
      if (isNum(s.exclusiveMaximum)) parts.push(`${x} < ${s.exclusiveMaximum}`);
      return parts.join(' && ');
    });
  }
  boolean(): Node {
    return testNode((x) => `typeof ${x} === 'boolean'`);
  }
  null(): Node {
    return { ...testNode((x) => `${x} === null`), isNull: true };
  }
  array(items: Node | null | false, prefix: Node[], s: { [k: string]: unknown }): Node {
    if (prefix.length || items === false || s.uniqueItems === true) return NONE;
    // No `items` at all: zod.ts checks them as unknown.
    const item = items === null ? ANY : items;
    if (item.none) return NONE;
    const bounds = (x: string) => {
      const parts = [`Array.isArray(${x})`];
      if (isNum(s.minItems) && s.minItems > 0) parts.push(`${x}.length >= ${s.minItems}`);
      if (isNum(s.maxItems)) parts.push(`${x}.length <= ${s.maxItems}`);
      return parts.join(' && ');
    };
    return {
      gen: (w, x) => {
        w.line(`if (!(${bounds(x)})) return ${NO};`);
        const out = w.name('a');
        const i = w.name('i');
        // zod builds a new array of the same length and fills it item by item.
        w.line(`const ${out} = new Array(${x}.length);`);
        w.block(`for (let ${i} = 0; ${i} < ${x}.length; ${i}++)`, () => {
          const e = w.name('e');
          w.line(`const ${e} = ${x}[${i}];`);
          w.line(`${out}[${i}] = ${item.gen(w, e)};`);
        });
        return out;
      },
      calls: item.calls,
    };
  }
  object(props: PropertyNode<Node>[], additional: Additional<Node>, s: { [k: string]: unknown }): Node {
    // zod.ts: a schema for the other keys makes a record or a catchall.
    if (additional !== false && additional !== true && additional !== 'default') return NONE;
    const inner = objectNode(props, additional === false ? 'strict' : 'loose');
    // zod.ts's bounds, read the same way: minProperties above 0, maxProperties from 0.
    const min = isNum(s.minProperties) && s.minProperties > 0 ? s.minProperties : 0;
    const max = isNum(s.maxProperties) && s.maxProperties >= 0 ? s.maxProperties : undefined;
    if (inner.none || (!min && max === undefined)) return inner;
    return {
      ...inner,
      // The count before any key is looked at, so a refused object costs one Object.keys.
      gen: (w, x) => {
        const n = w.name('n');
        w.line(`const ${n} = typeof ${x} === 'object' && ${x} !== null ? Object.keys(${x}).length : 0;`);
        w.line(`if (${[min ? `${n} < ${min}` : '', max === undefined ? '' : `${n} > ${max}`].filter(Boolean).join(' || ')}) return ${NO};`);
        return inner.gen(w, x);
      },
    };
  }
  union(members: Node[], discriminator?: Discriminator): Node {
    if (members.some((m) => m.none) || discriminator?.values) return NONE;
    const list = members;
    if (list.some((m) => m.unknown)) return ANY; // zod.ts: a union with unknown is unknown
    // Primitives come back as they are, so whichever member accepts, the value is the input.
    if (list.every((m) => m.test)) {
      if (list.length === 1) return list[0]!;
      const test = (x: string, w: FastWriter) => list.map((m) => `(${m.test!(x, w)})`).join(' || ');
      return { ...testNode(test), ...(list.some((m) => m.acceptsUndefined) ? { acceptsUndefined: true as const } : {}) };
    }
    if (discriminator?.literalMembers) return NONE;
    // One member besides null: zod.ts's `.nullable()`.
    const rest = list.filter((m) => !m.isNull);
    if (rest.length !== 1) return NONE;
    const inner = rest[0]!;
    if (rest.length === list.length) return inner;
    return {
      gen: (w, x) => {
        const out = w.name('n');
        w.line(`let ${out}: unknown = null;`);
        w.block(`if (${x} !== null)`, () => w.line(`${out} = ${inner.gen(w, x)};`));
        return out;
      },
      ...(inner.acceptsUndefined ? { acceptsUndefined: true as const } : {}),
      calls: inner.calls,
    };
  }
  intersection(members: Node[]): Node {
    if (members.some((m) => m.none)) return NONE;
    // zod.ts leaves its own unknown members out and keeps the rest; two or more need a merge.
    const rest = members.filter((m) => !m.unknown);
    if (!rest.length) return ANY;
    return rest.length === 1 ? rest[0]! : NONE;
  }
}

/**
 * An object check. `strict`: other keys refused (zod's strictObject); `loose`: kept after the
 * declared ones (looseObject); `strip`: dropped (z.object, as parameters are validated).
 */
function objectNode(props: { name: string; node: FastNode; required: boolean; absent?: string }[], mode: 'strict' | 'loose' | 'strip'): Node {
  // zod skips a declared `__proto__` in its output, and reads a missing `constructor`, `toString`...
  // as undefined (the prelude's lv_own) where `x[key]` finds Object.prototype's member: not worth copying.
  if (props.some((p) => (p.node.none && !p.absent) || p.name in Object.prototype)) return NONE;
  const names = props.map((p) => JSON.stringify(p.name));
  return {
    gen: (w, x) => {
      w.line(`if (typeof ${x} !== 'object' || ${x} === null || Array.isArray(${x})) return ${NO};`);
      if (mode === 'strict') {
        const k = w.name('k');
        if (!names.length) w.line(`for (const ${k} in ${x}) return ${NO};`);
        else w.line(`for (const ${k} in ${x}) if (${names.map((n) => `${k} !== ${n}`).join(' && ')}) return ${NO};`);
      }
      const out = w.name('o');
      w.line(`const ${out}: { [key: string]: unknown } = {};`);
      props.forEach((p, i) => {
        const key = names[i]!;
        // A property this direction must not carry: absent adds nothing, present is zod's to refuse.
        if (p.absent) return void w.line(`if (${key} in ${x}) return ${NO};`);
        const v = w.name('p');
        w.line(`const ${v} = ${x}[${key}];`);
        if (p.required && p.node.acceptsUndefined) {
          // zod reads a missing key as undefined; only a present one is taken here.
          w.line(`if (!(${key} in ${x})) return ${NO};`);
          w.line(`${out}[${key}] = ${v};`);
        } else if (p.required) {
          w.line(`${out}[${key}] = ${p.node.gen(w, v)};`);
        } else {
          // Optional: absent adds nothing; present as undefined is left to zod.
          w.block(`if (${v} !== undefined)`, () => w.line(`${out}[${key}] = ${p.node.gen(w, v)};`));
          w.line(`else if (${key} in ${x}) return ${NO};`);
        }
      });
      if (mode === 'loose') {
        // The keys it does not declare follow the declared ones (zod's catchall), all but `__proto__`.
        const k = w.name('k');
        const declared = names.length ? ` && ${names.map((n) => `${k} !== ${n}`).join(' && ')}` : '';
        w.line(`for (const ${k} in ${x}) if (${k} !== '__proto__'${declared}) ${out}[${k}] = ${x}[${k}];`);
      }
      return out;
    },
    calls: union(props.filter((p) => !p.absent).map((p) => p.node.calls)),
  };
}

/**
 * The fast checks of one document: a node per component (null when unsupported), worked out once.
 * A component met again while its own check is being worked out (recursion) is unsupported.
 */
export class FastChecks {
  private readonly nodes = new Map<string, Node>();
  private readonly pending = new Set<string>();
  private readonly backend = new FastBackend(this);
  constructor(private readonly env: SchemaEnv) {}

  /** A component's check, or null when it has none. */
  component(c: IrSchemaComponent): FastNode | null {
    let node = this.nodes.get(c.name);
    if (!node) {
      if (this.pending.has(c.name)) return null;
      this.pending.add(c.name);
      node = walkSchema(c.schema, this.backend, this.env);
      this.pending.delete(c.name);
      this.nodes.set(c.name, node);
    }
    return node.none ? null : node;
  }

  /** A schema's check, or null when it has none. */
  schema(schema: JsonSchema): FastNode | null {
    const node = walkSchema(schema, this.backend, this.env);
    return node.none ? null : node;
  }

  /**
   * The check of one location's parameters (zod.ts's `lvp.params`, a z.object that drops undeclared
   * keys), when none of them is coerced from its string: their schemas as they are.
   */
  params(params: { key: string; schema: JsonSchema; required: boolean }[]): FastNode | null {
    const props = params.map((p) => ({ name: p.key, node: walkSchema(p.schema, this.backend, this.env), required: p.required }));
    const node = objectNode(props, 'strip');
    return node.none ? null : node;
  }

  /** `names` and every component their checks call, each once, in first-met order. */
  closure(names: Iterable<string>): IrSchemaComponent[] {
    const seen = new Set<string>();
    const out: IrSchemaComponent[] = [];
    const visit = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      const c = this.env.byName.get(name)!;
      out.push(c);
      for (const dep of this.nodes.get(name)?.calls ?? []) visit(dep);
    };
    for (const name of names) visit(name);
    return out;
  }
}

/** A function expression `(x) => output | lv_no` for `node`; `optional`: undefined is accepted as undefined. */
export function fastFunction(node: FastNode, patterns: string[], optional = false): string {
  const w = new FastWriter(patterns);
  if (optional) w.line(`if (v === undefined) return undefined;`);
  const out = node.gen(w, 'v');
  w.line(`return ${out};`);
  return `(v: lv_any): unknown => {\n${w.lines.join('\n')}\n}`;
}
