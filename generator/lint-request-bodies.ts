/**
 * Warnings for what a request body may hold without a bound, where validation then does work in
 * proportion to what the client chose to send (a 1 MB body holds 100,000 items or keys):
 * - `lavendly/unbounded-array`: an array without `maxItems`. Every item is checked and reported
 *   before the answer: half a second of CPU and a response of megabytes for one request, measured
 *   on this project's webhook endpoint events. With `maxItems` the array is refused by its length first.
 * - `lavendly/unbounded-object`: an object open to any key (`additionalProperties` true or a
 *   schema) without `maxProperties`. A reservation's free-form metadata of 110,000 keys cost
 *   0.6 s of CPU (every key copied by validation, stored, answered and checked again); with
 *   `maxProperties` the validator counts the keys before it looks at any.
 * - `lavendly/unparsed-request-body`: a declared body type the server runtime does not parse
 *   (multipart, XML, text, a form whose schema is no object): the handler gets the request stream,
 *   and nothing checks it against its schema. Said here, because the SDKs do send it and nothing
 *   else would tell.
 * - `lavendly/form-body-field`: a field of a form body the runtime decodes that no form encoding
 *   can say as its schema has it (a list of objects without deepObject...): form-plan.ts says
 *   how it is read instead.
 * - `lavendly/reserved-body-key`: a JSON body property named `__proto__`, which the server refuses.
 */
import { pointerJoin } from './names.js';
import { isObject, type Json, type JsonObject } from './spec-doc.js';
import type { LintFinding } from './lint.js';
import { isBinaryMedia, isWildcardMediaType, parsedAsJson } from './media-types.js';
import { formPlan, isFormType } from './form-plan.js';
import type { IrEncoding } from './ir-types.js';

const METHODS = ['put', 'post', 'patch', 'delete'];
const NESTED = ['items', 'additionalProperties', 'prefixItems'];
const LISTS = ['allOf', 'oneOf', 'anyOf', 'prefixItems'];

function boundFindings(node: JsonObject, at: string): LintFinding[] {
  const out: LintFinding[] = [];
  const types = Array.isArray(node.type) ? node.type : [node.type];
  if ((types.includes('array') || 'items' in node) && node.maxItems === undefined) {
    out.push({
      severity: 'warning', pointer: at, rule: 'lavendly/unbounded-array',
      message: 'an array in a request body without maxItems: every item is validated before the answer, so one request can carry 100,000 bad items; set maxItems',
    });
  }
  const open = node.additionalProperties === true || isObject(node.additionalProperties);
  if (open && node.maxProperties === undefined) {
    out.push({
      severity: 'warning', pointer: at, rule: 'lavendly/unbounded-object',
      message: 'an object in a request body open to any key without maxProperties: every key is validated, copied and stored, so one request can carry 100,000 keys; set maxProperties',
    });
  }
  return out;
}

export function unboundedRequestBodyParts(root: JsonObject, resolve: (ref: string) => Json): LintFinding[] {
  const out: LintFinding[] = [];
  eachRequestBodySchema(root, resolve, () => true, (node, at) => out.push(...boundFindings(node, at)));
  return out;
}

/**
 * `lavendly/reserved-body-key`: a property named `__proto__` in a body sent as JSON (or under a
 * wildcard, where the SDKs send JSON). The server refuses the key at any depth (reserved_key: it
 * would set an object's prototype), so every request carrying the field fails with 400.
 */
export function reservedJsonBodyKeys(root: JsonObject, resolve: (ref: string) => Json): LintFinding[] {
  const out: LintFinding[] = [];
  const sentAsJson = (type: string) => parsedAsJson(type) || isWildcardMediaType(type);
  eachRequestBodySchema(root, resolve, sentAsJson, (node, at) => {
    const props = propertiesMap(node.properties, pointerJoin(at, 'properties'), resolve);
    if (!props || !Object.hasOwn(props.map, '__proto__')) return;
    out.push({
      severity: 'warning', pointer: pointerJoin(props.at, '__proto__'), rule: 'lavendly/reserved-body-key',
      message: 'a JSON body property named __proto__ can never be accepted: the server refuses the key (reserved_key: it would set an object\'s prototype), so every request sending it fails with 400; rename the property',
    });
  });
  return out;
}

/**
 * Calls `onPlace` for each schema place of the request bodies whose media type `accepts`: the
 * schema, its properties and nested items, $refs followed.
 */
function eachRequestBodySchema(
  root: JsonObject, resolve: (ref: string) => Json, accepts: (type: string) => boolean, onPlace: (node: JsonObject, at: string) => void,
): void {
  // Each place is looked at once, under the pointer where it stands (that also ends recursion
  // through $ref): a $ref to a place already seen, such as bundling writes for the second use of
  // a file (`#/paths/~1a/post/requestBody/content/application~1json/schema`), adds nothing.
  const seen = new Set<string>();
  const visit = (node: Json, at: string, depth = 0): void => {
    for (let hops = 0; isObject(node) && typeof node.$ref === 'string' && hops < 10; hops++) {
      if (!node.$ref.startsWith('#/') || seen.has(node.$ref)) return;
      at = node.$ref;
      node = resolve(node.$ref);
    }
    if (!isObject(node) || depth > 64 || seen.has(at)) return;
    seen.add(at);
    onPlace(node, at);
    const props = propertiesMap(node.properties, pointerJoin(at, 'properties'), resolve);
    if (props) for (const [name, child] of Object.entries(props.map)) visit(child, pointerJoin(props.at, name), depth + 1);
    for (const key of NESTED) if (isObject(node[key])) visit(node[key]!, pointerJoin(at, key), depth + 1);
    for (const key of LISTS) if (Array.isArray(node[key])) (node[key] as Json[]).forEach((child, i) => visit(child, pointerJoin(pointerJoin(at, key), String(i)), depth + 1));
  };
  for (const { at, content } of requestBodies(root, resolve)) {
    for (const [type, media] of Object.entries(content)) {
      if (isObject(media) && accepts(type)) visit(media.schema ?? null, pointerJoin(pointerJoin(pointerJoin(at, 'content'), type), 'schema'));
    }
  }
}

/**
 * A schema's `properties`, also when the whole map is named by reference (`properties: {$ref: ...}`,
 * as DigitalOcean's description writes it; the IR reads it so too): the map and where it stands.
 */
function propertiesMap(value: Json | undefined, at: string, resolve: (ref: string) => Json): { map: JsonObject; at: string } | null {
  for (let hops = 0; isObject(value) && typeof value.$ref === 'string' && Object.keys(value).length === 1 && hops < 10; hops++) {
    if (!value.$ref.startsWith('#/')) return null;
    at = value.$ref;
    value = resolve(value.$ref);
  }
  return isObject(value) ? { map: value, at } : null;
}

/** Every request body of every operation, $refs followed: its pointer and its `content` map. */
function requestBodies(root: JsonObject, resolve: (ref: string) => Json): { at: string; content: JsonObject }[] {
  const out: { at: string; content: JsonObject }[] = [];
  const paths = isObject(root.paths) ? root.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      let body = isObject(op) ? op.requestBody : undefined;
      for (let hops = 0; isObject(body) && typeof body.$ref === 'string' && hops < 10; hops++) body = resolve(body.$ref);
      if (isObject(body) && isObject(body.content)) out.push({ at: pointerJoin(pointerJoin(pointerJoin('#/paths', path), method), 'requestBody'), content: body.content });
    }
  }
  return out;
}

export function unparsedRequestBodies(root: JsonObject, resolve: (ref: string) => Json): LintFinding[] {
  const out: LintFinding[] = [];
  const deref = (s: unknown): unknown => {
    for (let hops = 0; isObject(s as Json) && typeof (s as JsonObject).$ref === 'string' && hops < 10; hops++) s = resolve((s as JsonObject).$ref as string);
    return s;
  };
  for (const { at, content } of requestBodies(root, resolve)) {
    for (const [type, media] of Object.entries(content)) {
      const schema = isObject(media) ? media.schema ?? {} : {};
      if (parsedAsJson(type) || isBinaryMedia(type, schema)) continue;
      const mediaAt = pointerJoin(pointerJoin(at, 'content'), type);
      if (isFormType(type)) {
        const encoding = isObject(media) && isObject(media.encoding) ? (media.encoding as IrEncoding) : undefined;
        const { plan, findings } = formPlan(schema, encoding, deref, mediaAt);
        for (const f of findings) out.push({ severity: 'warning', pointer: f.pointer, rule: 'lavendly/form-body-field', message: f.message });
        if (plan) continue;
      }
      out.push({
        severity: 'warning', pointer: mediaAt, rule: 'lavendly/unparsed-request-body',
        message: isWildcardMediaType(type)
          // What body.ts and the SDKs do under a wildcard: JSON (what the SDKs send for an object) is
          // parsed and checked; a form or anything else is matched by the wildcard but not decoded.
          ? `a ${type} body is parsed and checked against this schema only when it is JSON (what the generated SDKs send); any other type it admits, a form included, reaches the handler as the request stream (input.body is a Readable), unparsed and unchecked; declare the types you accept (application/json, application/x-www-form-urlencoded) instead`
          : `the server runtime parses JSON and form (an object schema) request bodies only: a ${type} body reaches the handler as the request stream (input.body is a Readable), unparsed and not checked against this schema; parse and check it in the handler, or accept JSON`,
      });
    }
  }
  return out;
}
