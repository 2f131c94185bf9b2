/**
 * Schema normalisation: one copy of every schema in the 3.1 form the backends understand.
 * - `#/components/schemas/X` refs stay refs (recursion stays finite, emitters name the type);
 *   any other local ref (`#/components/schemas/A/properties/b`, `#/paths/...`) is inlined.
 * - 3.0 `nullable: true` becomes a `'null'` type member (or `anyOf [.., {type: 'null'}]`).
 * - 3.0 boolean `exclusiveMinimum`/`exclusiveMaximum` become the 3.1 numeric form.
 * - draft-4 tuple `items: [...]` becomes `prefixItems`.
 */
import { cycleAdvice } from './cycle-advice.js';
import type { JsonSchema } from './ir-types.js';
import { pointerJoin } from './names.js';
import { schemaRef, schemaRefName } from './schema/refs.js';
import { SpecDoc, SpecError, canonicalPointer, isObject, setOwn, type Json, type JsonObject } from './spec-doc.js';

export const SCHEMA_VALUED = new Set([
  'additionalProperties', 'items', 'not', 'if', 'then', 'else', 'contains', 'propertyNames',
  'unevaluatedProperties', 'unevaluatedItems', 'additionalItems', 'contentSchema',
]);
export const SCHEMA_MAP_VALUED = new Set(['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions']);
export const SCHEMA_ARRAY_VALUED = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
/** Keywords that only annotate; they may sit beside a $ref without changing its meaning. */
const ANNOTATIONS = new Set([
  'description', 'title', 'summary', 'example', 'examples', 'deprecated', 'readOnly', 'writeOnly',
  'default', '$comment', 'externalDocs', 'xml',
]);

export class SchemaNormaliser {
  /** Pointers being inlined right now: an inline ref back into one of them is a cycle. */
  private inlining: string[] = [];
  constructor(
    private readonly doc: SpecDoc,
    private readonly componentNames: Set<string>,
  ) {}

  normalise(node: Json | undefined, pointer: string): JsonSchema {
    if (node === undefined) return {};
    if (typeof node === 'boolean') return node;
    if (!isObject(node)) throw new SpecError(pointer, 'a schema must be an object or a boolean');
    if (typeof node.$ref === 'string') return this.reference(node, pointer);

    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (SCHEMA_VALUED.has(key) && (isObject(value) || typeof value === 'boolean')) {
        out[key] = this.normalise(value, pointerJoin(pointer, key)) as Json;
      } else if (SCHEMA_MAP_VALUED.has(key) && isObject(value)) {
        // `properties: { $ref: '...' }` names the whole map by reference (DigitalOcean's description
        // does; JSON Reference resolvers and bundlers read it so). A property called `$ref` would
        // hold a schema, never a string.
        const byRef = typeof value.$ref === 'string' && Object.keys(value).length === 1;
        const { node: entries, pointer: at } = byRef ? this.doc.deref(value, pointerJoin(pointer, key)) : { node: value, pointer: pointerJoin(pointer, key) };
        if (!isObject(entries)) throw new SpecError(pointerJoin(pointer, key, '$ref'), `"${key}" must be an object`);
        const map: JsonObject = {};
        for (const [name, sub] of Object.entries(entries)) setOwn(map, name, this.normalise(sub, pointerJoin(at, name)) as Json);
        out[key] = map;
      } else if ((SCHEMA_ARRAY_VALUED.has(key) || key === 'items') && Array.isArray(value)) {
        out[key === 'items' ? 'prefixItems' : key] = value.map((sub, i) => this.normalise(sub, pointerJoin(pointer, key, i)) as Json);
      } else if (key === 'discriminator' && isObject(value)) {
        out[key] = normaliseDiscriminator(value, pointerJoin(pointer, key));
      } else if (SCHEMA_ARRAY_VALUED.has(key) || SCHEMA_MAP_VALUED.has(key)) {
        throw new SpecError(pointerJoin(pointer, key), `"${key}" must be ${SCHEMA_ARRAY_VALUED.has(key) ? 'an array' : 'an object'}`);
      } else {
        out[key] = value;
      }
    }
    if (Array.isArray(node.items) && out.additionalItems !== undefined) {
      out.items = out.additionalItems;
      delete out.additionalItems;
    }
    fixExclusive(out, 'exclusiveMinimum', 'minimum');
    fixExclusive(out, 'exclusiveMaximum', 'maximum');
    if ('nullable' in out) {
      const nullable = out.nullable === true;
      delete out.nullable;
      if (nullable) return makeNullable(out);
    }
    return out;
  }

  private reference(node: JsonObject, pointer: string): JsonSchema {
    const ref = node.$ref as string;
    const at = pointerJoin(pointer, '$ref');
    const canonical = canonicalPointer(ref);
    const name = schemaRefName(canonical);
    let target: JsonSchema;
    if (name !== null && ref.startsWith('#')) {
      if (!this.componentNames.has(name)) throw new SpecError(at, `$ref "${ref}" does not resolve`);
      target = { $ref: schemaRef(name) };
    } else {
      const resolved = this.doc.resolve(ref, at);
      if (this.inlining.includes(canonical)) throw new SpecError(at, cycleAdvice(ref, canonical, this.componentNames));
      this.inlining.push(canonical);
      try {
        target = this.normalise(resolved, canonical);
      } finally {
        this.inlining.pop();
      }
    }
    // Siblings of a $ref: annotations ride along; 3.0 `nullable` and 3.1 constraints apply on top.
    const annotations: JsonObject = {};
    const constraints: JsonObject = {};
    let nullable = false;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref') continue;
      if (key === 'nullable') nullable = value === true;
      else if (ANNOTATIONS.has(key) || key.startsWith('x-')) annotations[key] = value;
      else constraints[key] = value;
    }
    let out: JsonSchema = target;
    if (Object.keys(constraints).length) {
      out = { allOf: [target as Json, this.normalise(constraints, pointer) as Json] };
    } else if (Object.keys(annotations).length && isObject(target)) {
      // On a component's ref, or on the inlined copy of any other schema (this ref's own copy).
      out = {
        ...target,
        ...(typeof annotations.description === 'string' ? { description: annotations.description } : {}),
        // A property `{$ref: Id, readOnly: true}` is read-only wherever Id is used (generator/ir-direction.ts).
        ...(annotations.readOnly === true ? { readOnly: true } : {}),
        ...(annotations.writeOnly === true ? { writeOnly: true } : {}),
      };
    }
    return nullable ? makeNullable(isObject(out) ? (out as JsonObject) : { allOf: [out as Json] }) : out;
  }
}

function fixExclusive(s: JsonObject, exclusive: string, inclusive: string): void {
  if (s[exclusive] === true && typeof s[inclusive] === 'number') {
    s[exclusive] = s[inclusive];
    delete s[inclusive];
  } else if (typeof s[exclusive] === 'boolean') {
    delete s[exclusive];
  }
}

const COMPOSITION = ['allOf', 'anyOf', 'oneOf', '$ref', 'not'];

function makeNullable(s: JsonObject): JsonSchema {
  if (Array.isArray(s.enum) && !s.enum.includes(null)) s.enum = [...s.enum, null];
  if (typeof s.type === 'string' && !COMPOSITION.some((k) => k in s)) return { ...s, type: [s.type, 'null'] };
  if (Array.isArray(s.type) && !COMPOSITION.some((k) => k in s)) return s.type.includes('null') ? s : { ...s, type: [...s.type, 'null'] };
  if (Array.isArray(s.enum) && !('type' in s) && !COMPOSITION.some((k) => k in s)) return s;
  const { description, ...rest } = s;
  return { ...(typeof description === 'string' ? { description } : {}), anyOf: [rest, { type: 'null' }] };
}

function normaliseDiscriminator(d: JsonObject, pointer: string): JsonObject {
  if (typeof d.propertyName !== 'string') throw new SpecError(pointerJoin(pointer, 'propertyName'), 'must be a string');
  const out: JsonObject = { propertyName: d.propertyName };
  if (isObject(d.mapping)) {
    const mapping: JsonObject = {};
    for (const [value, target] of Object.entries(d.mapping)) {
      if (typeof target !== 'string') throw new SpecError(pointerJoin(pointer, 'mapping', value), 'must be a string');
      mapping[value] = target.startsWith('#') ? canonicalPointer(target) : schemaRef(target);
    }
    out.mapping = mapping;
  }
  return out;
}
