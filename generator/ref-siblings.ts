/**
 * Keeps the siblings of a `$ref` into another file on that ref alone.
 * swagger-parser inlines a file at the first ref to it and merges that ref's siblings into the copy
 * (`{$ref: './s.yaml', nullable: true}` -> `{...s, nullable: true}`); every other ref to the file
 * then points at the copy, so `{$ref: './s.yaml', description: x}` elsewhere became nullable too.
 * Before bundling, each such ref is wrapped (`{allOf: [{$ref}], ...siblings}`, marked), which the
 * bundler never merges into; after, the wrapper is undone, leaving `{$ref: '#/...', ...siblings}`:
 * what a one-file spec says, read by ir-schema.ts the same way. Only when every ref to a schema
 * has siblings does the copy land inside a wrapper; that one stays `{allOf: [copy], ...siblings}`
 * (outside a schema, where allOf means nothing, the copy takes the siblings as the bundler did).
 */
import { isSchemaPointer } from './bundle-cycles.js';
import { pointerJoin } from './names.js';
import { canonicalPointer, isObject, type Json, type JsonObject } from './spec-doc.js';

/** Marks a wrapper made here (never written by an author: the `x-` prefix is reserved for extensions). */
export const WRAPPED = 'x-lavendly-ref-siblings';

/** Wraps every `{$ref: <another file>, ...siblings}` in place; returns the node. */
export function wrapRefSiblings(node: Json): Json {
  if (Array.isArray(node)) node.forEach((v, i) => (node[i] = wrapRefSiblings(v)));
  else if (isObject(node)) {
    if (typeof node.$ref === 'string' && !node.$ref.startsWith('#') && Object.keys(node).length > 1) {
      const { $ref, ...siblings } = node;
      for (const [k, v] of Object.entries(siblings)) siblings[k] = wrapRefSiblings(v);
      return { ...siblings, [WRAPPED]: true, allOf: [{ $ref }] };
    }
    for (const [k, v] of Object.entries(node)) node[k] = wrapRefSiblings(v);
  }
  return node;
}

/**
 * Undoes wrapRefSiblings on the bundled document (after swagger-parser made every ref local).
 * Returns the wrappers that hold their copy: collapse them once cycles are hoisted.
 */
export function unwrapRefSiblings(root: JsonObject): JsonObject[] {
  const kept: JsonObject[] = [];
  const wrappers: { obj: JsonObject; at: string }[] = [];
  const refs: JsonObject[] = [];
  const walk = (node: Json, at: string): void => {
    if (Array.isArray(node)) node.forEach((v, i) => walk(v, pointerJoin(at, i)));
    else if (isObject(node)) {
      if (node[WRAPPED] === true) wrappers.push({ obj: node, at });
      if (typeof node.$ref === 'string') refs.push(node);
      for (const [k, v] of Object.entries(node)) walk(v, pointerJoin(at, k));
    }
  };
  walk(root, '#');
  for (const { obj, at } of wrappers) {
    const inner = Array.isArray(obj.allOf) ? obj.allOf[0] : undefined;
    const siblings = { ...obj };
    delete siblings[WRAPPED];
    delete siblings.allOf;
    for (const k of Object.keys(obj)) delete obj[k];
    if (isObject(inner) && typeof inner.$ref === 'string' && Object.keys(inner).length === 1) {
      Object.assign(obj, { $ref: inner.$ref, ...siblings });
    } else if (isSchemaPointer(at)) {
      Object.assign(obj, { ...siblings, allOf: [inner ?? {}] });
      kept.push(obj);
    } else {
      // A path item, parameter or response: the copy lives here with the siblings, as bundled before.
      Object.assign(obj, isObject(inner) ? inner : {}, siblings);
      const from = pointerJoin(at, 'allOf', 0);
      for (const r of refs) {
        const t = canonicalPointer(r.$ref as string);
        if (t === from || t.startsWith(from + '/')) r.$ref = at + t.slice(from.length);
      }
    }
  }
  return kept;
}

/** A kept wrapper whose copy became a component (bundle-cycles.ts) is a plain ref with siblings again. */
export function collapseWrappers(kept: JsonObject[]): void {
  for (const obj of kept) {
    const inner = Array.isArray(obj.allOf) && obj.allOf.length === 1 ? obj.allOf[0] : undefined;
    if (!isObject(inner) || typeof inner.$ref !== 'string' || Object.keys(inner).length !== 1) continue;
    delete obj.allOf;
    Object.assign(obj, { $ref: inner.$ref, ...obj });
  }
}
