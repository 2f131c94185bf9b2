/**
 * `lavendly/unbounded-array` (a warning): an array a request body may hold without `maxItems`.
 * Validation checks every item before it answers, so a client can send a body full of bad items
 * (a megabyte holds 100,000) and have each checked and reported: half a second of CPU and a
 * response of megabytes for one request, measured on this project's webhook endpoint events.
 * With `maxItems`, the validator refuses the array by its length first.
 */
import { pointerJoin } from './names.js';
import { isObject, type Json, type JsonObject } from './spec-doc.js';
import type { LintFinding } from './lint.js';

const METHODS = ['put', 'post', 'patch', 'delete'];
const NESTED = ['items', 'additionalProperties', 'prefixItems'];
const LISTS = ['allOf', 'oneOf', 'anyOf', 'prefixItems'];

export function unboundedRequestArrays(root: JsonObject, resolve: (ref: string) => Json): LintFinding[] {
  const out: LintFinding[] = [];
  // Each named schema is looked at once (that also ends recursion through $ref); inline schemas
  // are looked at where they stand, so the pointer names each place.
  const seenRefs = new Set<string>();
  const visit = (node: Json, at: string, depth = 0): void => {
    for (let hops = 0; isObject(node) && typeof node.$ref === 'string' && hops < 10; hops++) {
      if (!node.$ref.startsWith('#/') || seenRefs.has(node.$ref)) return;
      seenRefs.add(node.$ref);
      at = node.$ref;
      node = resolve(node.$ref);
    }
    if (!isObject(node) || depth > 64) return;
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if ((types.includes('array') || 'items' in node) && node.maxItems === undefined) {
      out.push({
        severity: 'warning', pointer: at, rule: 'lavendly/unbounded-array',
        message: 'an array in a request body without maxItems: every item is validated before the answer, so one request can carry 100,000 bad items; set maxItems',
      });
    }
    if (isObject(node.properties)) for (const [name, child] of Object.entries(node.properties)) visit(child, pointerJoin(pointerJoin(at, 'properties'), name), depth + 1);
    for (const key of NESTED) if (isObject(node[key])) visit(node[key]!, pointerJoin(at, key), depth + 1);
    for (const key of LISTS) if (Array.isArray(node[key])) (node[key] as Json[]).forEach((child, i) => visit(child, pointerJoin(pointerJoin(at, key), String(i)), depth + 1));
  };
  const paths = isObject(root.paths) ? root.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      let body = isObject(op) ? op.requestBody : undefined;
      for (let hops = 0; isObject(body) && typeof body.$ref === 'string' && hops < 10; hops++) body = resolve(body.$ref);
      if (!isObject(body) || !isObject(body.content)) continue;
      const bodyAt = pointerJoin(pointerJoin(pointerJoin('#/paths', path), method), 'requestBody');
      for (const [type, media] of Object.entries(body.content)) {
        if (isObject(media)) visit(media.schema ?? null, pointerJoin(pointerJoin(pointerJoin(bodyAt, 'content'), type), 'schema'));
      }
    }
  }
  return out;
}
