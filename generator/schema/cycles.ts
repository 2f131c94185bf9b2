/**
 * Components that are defined by themselves: `A: {$ref: B}`, `B: {$ref: A}`, or `C: {allOf: [C]}`.
 * Recursion through a property or an item is fine (a tree's children); a component that reaches
 * itself through refs and allOf/anyOf/oneOf members alone has no meaning: its TS type is a
 * circular alias tsc refuses, and its zod validator recurses until the stack overflows on the
 * first request. Such a spec is refused, naming the cycle.
 */
import type { IrSchemaComponent, JsonSchema } from '../ir-types.js';
import { pointerJoin } from '../names.js';
import { SpecError } from '../spec-doc.js';
import { schemaRefName } from './refs.js';

/** Composition keywords whose members stand for the schema itself (not for a part of its value). */
const DIRECT = ['allOf', 'anyOf', 'oneOf'];

/** Names of the components `schema` stands for directly. */
function directRefs(schema: JsonSchema, out: Set<string>): Set<string> {
  if (typeof schema !== 'object' || schema === null) return out;
  if (typeof schema.$ref === 'string') {
    const name = schemaRefName(schema.$ref);
    if (name !== null) out.add(name);
  }
  for (const key of DIRECT) {
    const members = schema[key];
    if (Array.isArray(members)) for (const m of members) directRefs(m as JsonSchema, out);
  }
  return out;
}

export function checkDirectCycles(components: IrSchemaComponent[]): void {
  const edges = new Map(components.map((c) => [c.name, [...directRefs(c.schema, new Set())]]));
  const done = new Set<string>();
  const visit = (name: string, trail: string[]): void => {
    const at = trail.indexOf(name);
    if (at >= 0) {
      const cycle = [...trail.slice(at), name];
      throw new SpecError(
        pointerJoin('#/components/schemas', name),
        `schema "${name}" is defined by itself (${cycle.join(' -> ')}): a schema may refer to itself only inside a property or an array item`,
      );
    }
    if (done.has(name)) return;
    for (const next of edges.get(name) ?? []) visit(next, [...trail, name]);
    done.add(name);
  };
  for (const c of components) visit(c.name, []);
}
