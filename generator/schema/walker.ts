/**
 * One JSON Schema walker, two backends (TS type text, zod code text). The walker decides what a
 * schema means (ref, literal set, typed value, composition); a backend only decides how to spell it.
 * Input is the IR's normalised schema (3.1 forms; only component refs left).
 */
import type { IrSchemaComponent, JsonSchema } from '../ir-types.js';
import { schemaRefName } from './refs.js';
import { setOwn } from '../spec-doc.js';
import { isAbsentMarker } from './absent.js';

type Obj = { [key: string]: unknown };

export interface PropertyNode<R> {
  name: string;
  node: R;
  required: boolean;
  schema: Obj;
  /**
   * Hidden in this direction (a readOnly property of a request, a writeOnly one of a response,
   * generator/ir-direction.ts): it must be left out, and `node` is never.
   */
  absent?: 'readOnly' | 'writeOnly';
}

/** `'default'`: additionalProperties absent (JSON Schema: anything goes, TS: no index signature). */
export type Additional<R> = 'default' | boolean | R;

export interface Discriminator {
  propertyName: string;
  /** Every member is an object schema with a literal (const / one-value enum) on the property. */
  literalMembers: boolean;
  /**
   * Otherwise, when every member is a component ref to an object that requires the property: the
   * values that select each member (same order), those `mapping` gives it and its component name
   * (OpenAPI's implicit mapping). The members do not check them (`kind: string`), so the union
   * must: without this a body whose `kind` names one member (or none) would pass as any other.
   */
  values?: string[][];
}

export interface SchemaBackend<R> {
  ref(component: IrSchemaComponent): R;
  any(): R;
  never(): R;
  literal(values: unknown[]): R;
  string(s: Obj): R;
  binary(s: Obj): R;
  number(s: Obj, integer: boolean): R;
  boolean(): R;
  null(): R;
  array(items: R | null | false, prefix: R[], s: Obj): R;
  object(props: PropertyNode<R>[], additional: Additional<R>, s: Obj): R;
  union(members: R[], discriminator?: Discriminator): R;
  intersection(members: R[]): R;
}

export class SchemaEnv {
  readonly byName: Map<string, IrSchemaComponent>;
  constructor(components: IrSchemaComponent[]) {
    this.byName = new Map(components.map((c) => [c.name, c]));
  }
  component(ref: string): IrSchemaComponent | undefined {
    const name = schemaRefName(ref);
    return name === null ? undefined : this.byName.get(name);
  }
  /** Follows component refs (alias chains) to the first non-ref schema. */
  deref(schema: JsonSchema): JsonSchema {
    for (let i = 0; i < 20 && isObj(schema) && typeof schema.$ref === 'string'; i++) {
      const c = this.component(schema.$ref);
      if (!c) return true;
      schema = c.schema;
    }
    return schema;
  }
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const OBJECT_KEYWORDS = ['properties', 'additionalProperties', 'patternProperties', 'required', 'minProperties', 'maxProperties'];
const ARRAY_KEYWORDS = ['items', 'prefixItems', 'minItems', 'maxItems'];

export function walkSchema<R>(schema: JsonSchema, b: SchemaBackend<R>, env: SchemaEnv): R {
  const walk = (s: JsonSchema): R => {
    if (s === true || s === undefined || s === null) return b.any();
    if (s === false) return b.never();
    if (!isObj(s)) return b.any();
    if (isAbsentMarker(s)) return b.never();
    if (typeof s.$ref === 'string') {
      const c = env.component(s.$ref);
      return c ? b.ref(c) : b.any();
    }
    if (Array.isArray(s.allOf)) s = mergeInlineAllOf(s);
    const composed = 'allOf' in s || 'oneOf' in s || 'anyOf' in s;
    const parts: R[] = [];
    const base = typed(s, composed);
    if (base !== null) parts.push(base);
    if (Array.isArray(s.allOf)) parts.push(...(s.allOf as JsonSchema[]).map(walk));
    for (const key of ['oneOf', 'anyOf'] as const) {
      const members = s[key];
      if (Array.isArray(members) && members.length) parts.push(b.union((members as JsonSchema[]).map(walk), discriminatorOf(s, members as JsonSchema[])));
    }
    if (parts.length === 0) return b.any();
    return parts.length === 1 ? parts[0]! : b.intersection(parts);
  };

  const typed = (s: Obj, composed: boolean): R | null => {
    if ('const' in s) return b.literal([s.const]);
    if (Array.isArray(s.enum)) return s.enum.length ? b.literal(s.enum) : b.never();
    let types: string[];
    if (Array.isArray(s.type)) types = [...new Set(s.type.filter((t): t is string => typeof t === 'string'))];
    else if (typeof s.type === 'string') types = [s.type];
    else if (OBJECT_KEYWORDS.some((k) => k in s) && !composed) types = ['object'];
    else if (ARRAY_KEYWORDS.some((k) => k in s)) types = ['array'];
    else if ('properties' in s) types = ['object'];
    else return null;
    // `{type: object, allOf: [...]}` with nothing else: the members say everything.
    if (composed && types.length === 1 && types[0] === 'object' && !OBJECT_KEYWORDS.some((k) => k in s)) return null;
    const rendered = types.map((t) => one(t, s));
    return rendered.length === 1 ? rendered[0]! : b.union(rendered);
  };

  const one = (type: string, s: Obj): R => {
    switch (type) {
      case 'string':
        return s.format === 'binary' ? b.binary(s) : b.string(s);
      case 'number':
      case 'integer':
        return b.number(formatBounds(s), type === 'integer');
      case 'boolean':
        return b.boolean();
      case 'null':
        return b.null();
      case 'array': {
        const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as JsonSchema[]).map(walk) : [];
        const items = s.items === false ? false : s.items === undefined ? null : walk(s.items as JsonSchema);
        return b.array(items, prefix, s);
      }
      case 'object': {
        const required = new Set(Array.isArray(s.required) ? (s.required as unknown[]) : []);
        const props = isObj(s.properties)
          ? Object.entries(s.properties).map(([name, sub]) => ({
              name,
              node: walk(sub as JsonSchema),
              required: required.has(name),
              schema: isObj(sub) ? sub : {},
              ...(isAbsentMarker(sub) && isObj(sub) ? { absent: sub.readOnly === true ? ('readOnly' as const) : ('writeOnly' as const) } : {}),
            }))
          : [];
        // Required but not declared here (e.g. `allOf: [{$ref}, {required: [x]}]`): present, any value.
        for (const name of required) {
          if (typeof name === 'string' && !props.some((p) => p.name === name)) props.push({ name, node: b.any(), required: true, schema: {} });
        }
        const ap = s.additionalProperties;
        let additional: Additional<R> = ap === undefined ? 'default' : ap === true || ap === false ? ap : walk(ap as JsonSchema);
        if (additional === 'default' && isObj(s.patternProperties)) additional = true;
        return b.object(props, additional, s);
      }
      default:
        return b.any();
    }
  };

  const discriminatorOf = (s: Obj, members: JsonSchema[]): Discriminator | undefined => {
    const d = s.discriminator;
    if (!isObj(d) || typeof d.propertyName !== 'string') return undefined;
    const prop = d.propertyName;
    const literalMembers = members.every((m) => {
      const target = env.deref(m);
      if (!isObj(target) || 'allOf' in target || 'oneOf' in target || 'anyOf' in target) return false;
      const p = isObj(target.properties) ? target.properties[prop] : undefined;
      const required = Array.isArray(target.required) && target.required.includes(prop);
      return required && isObj(p) && ('const' in p || (Array.isArray(p.enum) && p.enum.length === 1));
    });
    if (literalMembers) return { propertyName: prop, literalMembers };
    const values = members.every((m) => requires(env, m, prop, 0)) ? mappedValues(d, members, env) : null;
    return values ? { propertyName: prop, literalMembers, values } : { propertyName: prop, literalMembers };
  };

  return walk(schema);
}

const COMPOSITION = ['$ref', 'allOf', 'anyOf', 'oneOf', 'not'];

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

/**
 * `format: int32` as the bounds it implies, within any the schema sets itself: the backends check
 * bounds, not formats, and a 64-bit number in an int32 field is what a handler's database column
 * refuses (with a 500). int64 needs nothing: an integer is already checked to be a safe one.
 */
function formatBounds(s: Obj): Obj {
  if (s.format !== 'int32') return s;
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  return {
    ...s,
    minimum: num(s.minimum) ? Math.max(s.minimum, INT32.min) : INT32.min,
    maximum: num(s.maximum) ? Math.min(s.maximum, INT32.max) : INT32.max,
  };
}

/**
 * Whether every value `schema` accepts is an object with `prop` (required here or in an allOf
 * part). Real specs leave a discriminator out of `required` (GitHub's `user_view_type`) or point
 * one at an array schema; such unions stay plain unions rather than refuse what they describe.
 */
function requires(env: SchemaEnv, schema: JsonSchema, prop: string, depth: number): boolean {
  const s = env.deref(schema);
  if (!isObj(s) || depth > 10) return false;
  if (s.type !== undefined && s.type !== 'object') return false;
  if (Array.isArray(s.required) && s.required.includes(prop)) return true;
  return Array.isArray(s.allOf) && s.allOf.some((m) => requires(env, m as JsonSchema, prop, depth + 1));
}

/** Discriminator.values: null unless every member is a component ref. */
function mappedValues(d: Obj, members: JsonSchema[], env: SchemaEnv): string[][] | null {
  const refs = members.map((m) => (isObj(m) && typeof m.$ref === 'string' ? m.$ref : null));
  if (!refs.length || refs.some((r) => r === null || schemaRefName(r) === null)) return null;
  const mapping = isObj(d.mapping) ? Object.entries(d.mapping) : [];
  const keys = new Set(mapping.map(([value]) => value));
  const values = refs.map((ref) => {
    const mapped = mapping.filter(([, target]) => target === ref).map(([value]) => value);
    // The component's name selects it too unless the mapping gives that name to another member
    // (lenient: a spec may read the mapping as adding values, not replacing the implicit one).
    // A request view (`PetInput`) is selected by the name of the component it was split from.
    const refName = schemaRefName(ref!)!;
    const name = env.byName.get(refName)?.variantOf ?? refName;
    return keys.has(name) ? mapped : [...mapped, name];
  });
  // A value naming two members (the same ref listed twice, or a mapped value equal to another's
  // name) cannot pick one: leave such a union as it was.
  const all = values.flat();
  return new Set(all).size === all.length ? values : null;
}

function isInlineObject(m: unknown): m is Obj {
  return isObj(m) && !COMPOSITION.some((k) => k in m) && (m.type === 'object' || (m.type === undefined && 'properties' in m));
}

/**
 * `allOf: [{$ref: Base}, {type: object, properties: ...}]`: inline object members are merged into
 * one object (clearer types, one zod object instead of nested intersections). With refs left over,
 * `additionalProperties: false` is dropped: across allOf it would reject the other members' keys.
 */
function mergeInlineAllOf(s: Obj): Obj {
  const members = s.allOf as unknown[];
  const inline = members.filter(isInlineObject);
  if (!inline.length) return s;
  const rest = members.filter((m) => !isInlineObject(m));
  const { allOf: _allOf, ...own } = s;
  const sources = [own, ...inline];
  const properties: Obj = {};
  const required = new Set<unknown>();
  let additional: unknown;
  for (const src of sources) {
    if (isObj(src.properties)) {
      for (const [name, sub] of Object.entries(src.properties)) {
        setOwn(properties, name, Object.prototype.hasOwnProperty.call(properties, name) ? { allOf: [properties[name], sub] } : sub);
      }
    }
    if (Array.isArray(src.required)) src.required.forEach((r) => required.add(r));
    if (src.additionalProperties !== undefined) additional = src.additionalProperties;
  }
  const merged: Obj = { ...own, type: 'object', properties };
  if (required.size) merged.required = [...required];
  if (additional !== undefined && !(additional === false && rest.length)) merged.additionalProperties = additional;
  else delete merged.additionalProperties;
  if (rest.length) merged.allOf = rest;
  return merged;
}
