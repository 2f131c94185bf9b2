/**
 * `readOnly` and `writeOnly` by direction (OpenAPI 3.1, JSON Schema's meaning as OpenAPI uses it):
 * a readOnly property is one the server sets, so a request must not be asked for it; a writeOnly
 * one (a password) is only ever sent, so a response must not carry it.
 *
 * Every schema of a request is rewritten to its request view and every schema of a response (or
 * of a webhook the API sends) to its response view. In a view, each property that is hidden in that
 * direction is left out of `required` and becomes the absent marker `{ readOnly: true, not: {} }`
 * (or `writeOnly`): JSON Schema for "must not be here", which the walker reads as `never` (TS
 * `id?: never`, a zod check that refuses it with a message naming why; the Python SDK leaves the
 * field out, MCP tools hide it).
 *
 * A component is split in two only when both directions use it and a view differs from the schema
 * (a readOnly or writeOnly property in it or in any component it reaches): `Pet` is then the
 * response view and `PetInput` the request view. A component used in one direction only becomes
 * that direction's view under its own name; one used by neither stays as written.
 */
import type { IrOperation, IrSchemaComponent, IrWebhook, JsonSchema } from './ir-types.js';
import { type NameAllocator } from './names.js';
import { schemaRef, schemaRefName } from './schema/refs.js';

type Obj = { [key: string]: unknown };
type Direction = 'request' | 'response';
type HiddenKey = 'readOnly' | 'writeOnly';

/** The keyword a direction hides: a request leaves out readOnly properties, a response writeOnly ones. */
const HIDDEN: Record<Direction, HiddenKey> = { request: 'readOnly', response: 'writeOnly' };

const SCHEMA_VALUED = [
  'additionalProperties', 'items', 'not', 'if', 'then', 'else', 'contains', 'propertyNames',
  'unevaluatedProperties', 'unevaluatedItems', 'contentSchema',
];
const SCHEMA_MAP_VALUED = ['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions'];
const SCHEMA_ARRAY_VALUED = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The direct subschemas of `s` (not through refs). A plain list, no callbacks: this runs on every node of a 13 MB spec. */
function subschemas(s: Obj): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const key of SCHEMA_VALUED) {
    const v = s[key];
    if (isObj(v) || typeof v === 'boolean') out.push(v);
  }
  for (const key of SCHEMA_MAP_VALUED) {
    const v = s[key];
    if (isObj(v)) for (const name in v) out.push(v[name] as JsonSchema);
  }
  for (const key of SCHEMA_ARRAY_VALUED) {
    const v = s[key];
    if (Array.isArray(v)) for (const m of v) out.push(m as JsonSchema);
  }
  return out;
}

function addRef(ref: unknown, out: Set<string>): void {
  const name = typeof ref === 'string' ? schemaRefName(ref) : null;
  if (name !== null) out.add(name);
}

/** Component names `schema` refers to (discriminator mapping targets included), not through refs. */
function refsIn(schema: JsonSchema, out = new Set<string>()): Set<string> {
  if (!isObj(schema)) return out;
  addRef(schema.$ref, out);
  const d = schema.discriminator;
  if (isObj(d) && isObj(d.mapping)) for (const value in d.mapping) addRef(d.mapping[value], out);
  for (const sub of subschemas(schema)) refsIn(sub, out);
  return out;
}

export function splitByDirection(
  schemas: IrSchemaComponent[],
  operations: IrOperation[],
  webhooks: IrWebhook[],
  typeNames: NameAllocator,
): IrSchemaComponent[] {
  const byName = new Map(schemas.map((c) => [c.name, c]));
  const direct = new Map(schemas.map((c) => [c.name, refsIn(c.schema)]));

  const reach = (roots: Iterable<string>): Set<string> => {
    const seen = new Set<string>();
    const stack = [...roots];
    while (stack.length) {
      const name = stack.pop()!;
      if (seen.has(name) || !byName.has(name)) continue;
      seen.add(name);
      stack.push(...direct.get(name)!);
    }
    return seen;
  };

  /** Whether `schema` (a property's), or the component it names, is marked `key`. */
  const marked = (schema: JsonSchema, key: HiddenKey): boolean => {
    for (let i = 0; i < 20 && isObj(schema); i++) {
      if (schema[key] === true) return true;
      const name = typeof schema.$ref === 'string' ? schemaRefName(schema.$ref) : null;
      const c = name === null ? undefined : byName.get(name);
      if (!c) return false;
      schema = c.schema;
    }
    return false;
  };
  const hasHiddenProperty = (schema: JsonSchema, key: HiddenKey): boolean => {
    if (!isObj(schema)) return false;
    if (isObj(schema.properties) && Object.values(schema.properties).some((p) => marked(p as JsonSchema, key))) return true;
    for (const sub of subschemas(schema)) if (hasHiddenProperty(sub, key)) return true;
    return false;
  };
  // Only components with readOnly or writeOnly in their text, or a ref to a component marked so
  // as a whole (`id: {$ref: ServerId}`), can hide a property: nearly all need no closer look.
  const markedWhole = new Set(schemas.filter((c) => marked(c.schema, 'readOnly') || marked(c.schema, 'writeOnly')).map((c) => c.name));
  const mentions = new Set(
    schemas
      .filter((c) => /"(readOnly|writeOnly)":true/.test(JSON.stringify(c.schema)) || [...direct.get(c.name)!].some((r) => markedWhole.has(r)))
      .map((c) => c.name),
  );
  /** The components whose view in a direction differs: those with a property it hides, and all that reach them. */
  const affectedBy = (key: HiddenKey): Set<string> => {
    const users = new Map<string, string[]>();
    for (const [name, refs] of direct) for (const r of refs) users.get(r)?.push(name) ?? users.set(r, [name]);
    const out = new Set<string>();
    const stack = schemas.filter((c) => mentions.has(c.name) && hasHiddenProperty(c.schema, key)).map((c) => c.name);
    while (stack.length) {
      const name = stack.pop()!;
      if (out.has(name)) continue;
      out.add(name);
      stack.push(...(users.get(name) ?? []));
    }
    return out;
  };
  const affected: Record<Direction, Set<string>> = { request: affectedBy('readOnly'), response: affectedBy('writeOnly') };

  const requestSchemas = [
    ...operations.flatMap((op) => [...op.parameters.map((p) => p.schema), ...(op.requestBody?.contents ?? []).map((m) => m.schema)]),
  ];
  const responseSchemas = [
    ...operations.flatMap((op) => op.responses.flatMap((r) => [...r.contents.map((m) => m.schema), ...r.headers.map((h) => h.schema)])),
    ...webhooks.flatMap((w) => (w.body?.contents ?? []).map((m) => m.schema)),
  ];
  const usedIn = (list: JsonSchema[]) => reach(list.flatMap((s) => [...refsIn(s)]));
  const inRequests = usedIn(requestSchemas);
  const inResponses = usedIn(responseSchemas);

  // The name each component has in each direction.
  const taken = new Set(byName.keys());
  const requestName = new Map<string, string>();
  const variants = new Map<string, IrSchemaComponent>();
  for (const c of schemas) {
    const split = inRequests.has(c.name) && inResponses.has(c.name) && (affected.request.has(c.name) || affected.response.has(c.name));
    if (!split) continue;
    let name = `${c.name}Input`;
    for (let i = 2; taken.has(name); i++) name = `${c.name}Input${i}`;
    taken.add(name);
    requestName.set(c.name, name);
    variants.set(c.name, { name, identifier: typeNames.take(`${c.identifier}Input`), schema: true, variantOf: c.name });
  }
  const nameIn = (dir: Direction, name: string) => (dir === 'request' ? requestName.get(name) : undefined) ?? name;

  /**
   * Whether the view of `schema` in `dir` may differ from it: a property hidden there, a ref that
   * direction renames, or an allOf over a component it changes (whose hidden keys may be required
   * here). Most schemas have none, and keep their identity (GitHub's description: no copy at all).
   */
  const changes: Record<Direction, WeakMap<Obj, boolean>> = { request: new WeakMap(), response: new WeakMap() };
  const needsView = (schema: JsonSchema, dir: Direction): boolean => {
    if (!isObj(schema)) return false;
    const memo = changes[dir].get(schema);
    if (memo !== undefined) return memo;
    const refName = (ref: unknown) => (typeof ref === 'string' ? schemaRefName(ref) : null);
    const renamed = (ref: unknown) => dir === 'request' && requestName.has(refName(ref) ?? '');
    let found =
      renamed(schema.$ref) ||
      (isObj(schema.properties) && Object.values(schema.properties).some((p) => marked(p as JsonSchema, HIDDEN[dir]))) ||
      (Array.isArray(schema.allOf) && schema.allOf.some((m) => isObj(m) && affected[dir].has(refName(m.$ref) ?? ''))) ||
      (isObj(schema.discriminator) && isObj(schema.discriminator.mapping) && Object.values(schema.discriminator.mapping).some(renamed));
    if (!found) found = subschemas(schema).some((sub) => needsView(sub, dir));
    changes[dir].set(schema, found);
    return found;
  };

  const view = (schema: JsonSchema, dir: Direction, inherited: Set<string> = new Set()): JsonSchema => {
    if (!isObj(schema) || (!inherited.size && !needsView(schema, dir))) return schema;
    const key = HIDDEN[dir];
    const out: Obj = { ...schema };
    if (typeof out.$ref === 'string') {
      const name = schemaRefName(out.$ref);
      if (name !== null) out.$ref = schemaRef(nameIn(dir, name));
    }
    if (isObj(out.discriminator) && isObj(out.discriminator.mapping)) {
      const mapping: Obj = {};
      for (const [value, ref] of Object.entries(out.discriminator.mapping)) {
        const name = typeof ref === 'string' ? schemaRefName(ref) : null;
        mapping[value] = name === null ? ref : schemaRef(nameIn(dir, name));
      }
      out.discriminator = { ...out.discriminator, mapping };
    }
    // Hidden properties of this object and of its allOf members: none of them may be required
    // here, even by a member that only lists it (`allOf: [{$ref: Base}, {required: [id]}]`).
    const hidden = new Set(inherited);
    collectHidden(schema, key, hidden, 0);
    for (const valued of SCHEMA_VALUED) if (isObj(out[valued])) out[valued] = view(out[valued] as JsonSchema, dir);
    for (const mapKey of SCHEMA_MAP_VALUED) {
      if (!isObj(out[mapKey])) continue;
      const map: Obj = {};
      for (const [name, sub] of Object.entries(out[mapKey])) {
        Object.defineProperty(map, name, {
          value: mapKey === 'properties' && marked(sub as JsonSchema, key) ? absentMarker(sub, key) : view(sub as JsonSchema, dir),
          enumerable: true, writable: true, configurable: true,
        });
      }
      out[mapKey] = map;
    }
    for (const arrKey of SCHEMA_ARRAY_VALUED) {
      if (Array.isArray(out[arrKey])) out[arrKey] = (out[arrKey] as JsonSchema[]).map((m) => view(m, dir, arrKey === 'allOf' ? hidden : new Set()));
    }
    if (Array.isArray(out.examples)) out.examples = out.examples.map((e) => strip(e, schema, dir));
    if (out.example !== undefined) out.example = strip(out.example, schema, dir);
    if (Array.isArray(out.required) && hidden.size) {
      out.required = out.required.filter((r) => !(typeof r === 'string' && hidden.has(r)));
      if (!(out.required as unknown[]).length) delete out.required;
    }
    return out;
  };

  /** Names of the properties of `s` (through its allOf members and refs) marked `key`. */
  const collectHidden = (s: JsonSchema, key: HiddenKey, into: Set<string>, depth: number): void => {
    if (!isObj(s) || depth > 10) return;
    if (isObj(s.properties)) for (const [name, sub] of Object.entries(s.properties)) if (marked(sub as JsonSchema, key)) into.add(name);
    const name = typeof s.$ref === 'string' ? schemaRefName(s.$ref) : null;
    const target = name === null ? undefined : byName.get(name);
    if (target) collectHidden(target.schema, key, into, depth + 1);
    if (Array.isArray(s.allOf)) for (const m of s.allOf) collectHidden(m as JsonSchema, key, into, depth + 1);
  };

  /**
   * An example as `dir` sends it: the properties it hides left out (a POST example copied from the
   * full object would otherwise teach code samples, and fast-check tests, to send the server's id).
   * Read against the schema as written, whose refs are the spec's names.
   */
  const strip = (value: unknown, schema: JsonSchema, dir: Direction, depth = 0): unknown => {
    let s = schema;
    for (let i = 0; i < 20 && isObj(s) && typeof s.$ref === 'string'; i++) s = byName.get(schemaRefName(s.$ref) ?? '')?.schema ?? true;
    if (!isObj(s) || depth > 20) return value;
    if (Array.isArray(value)) return isObj(s.items) ? value.map((v) => strip(v, s.items as JsonSchema, dir, depth + 1)) : value;
    if (!isObj(value)) return value;
    const props: Obj = {};
    const collect = (m: JsonSchema, d: number): void => {
      for (let i = 0; i < 20 && isObj(m) && typeof m.$ref === 'string'; i++) m = byName.get(schemaRefName(m.$ref) ?? '')?.schema ?? true;
      if (!isObj(m) || d > 10) return;
      if (isObj(m.properties)) for (const name in m.properties) if (!(name in props)) props[name] = m.properties[name];
      for (const key of ['allOf', 'oneOf', 'anyOf']) if (Array.isArray(m[key])) for (const x of m[key] as JsonSchema[]) collect(x, d + 1);
    };
    collect(s, 0);
    const out: Obj = {};
    for (const [name, v] of Object.entries(value)) {
      const p = Object.prototype.hasOwnProperty.call(props, name) ? (props[name] as JsonSchema) : undefined;
      if (p !== undefined && marked(p, HIDDEN[dir])) continue;
      Object.defineProperty(out, name, { value: p === undefined ? v : strip(v, p, dir, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  const viewMedia = (m: { schema: JsonSchema; examples: unknown[] }, dir: Direction) => {
    if (!needsView(m.schema, dir)) return;
    m.examples = m.examples.map((e) => strip(e, m.schema, dir));
    m.schema = view(m.schema, dir);
  };

  for (const op of operations) {
    for (const p of op.parameters) p.schema = view(p.schema, 'request');
    for (const m of op.requestBody?.contents ?? []) viewMedia(m, 'request');
    for (const r of op.responses) {
      for (const m of r.contents) viewMedia(m, 'response');
      for (const h of r.headers) h.schema = view(h.schema, 'response');
    }
  }
  for (const w of webhooks) for (const m of w.body?.contents ?? []) viewMedia(m, 'response');

  const out: IrSchemaComponent[] = [];
  for (const c of schemas) {
    const variant = variants.get(c.name);
    if (variant) {
      out.push({ ...c, schema: view(c.schema, 'response') });
      out.push({ ...variant, schema: view(c.schema, 'request') });
    } else if (inResponses.has(c.name)) {
      out.push({ ...c, schema: view(c.schema, 'response') });
    } else if (inRequests.has(c.name)) {
      out.push({ ...c, schema: view(c.schema, 'request') });
    } else {
      out.push(c);
    }
  }
  return out;
}

/** The property as this direction sees it: it must be absent; its annotations stay for the docs. */
function absentMarker(sub: unknown, key: HiddenKey): Obj {
  const s = isObj(sub) ? sub : {};
  const out: Obj = { [key]: true };
  for (const k of ['title', 'description', 'deprecated']) if (k in s) out[k] = s[k];
  out.not = {};
  return out;
}
