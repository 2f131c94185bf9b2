/**
 * After bundling: schemas that recurse across files become components.
 * swagger-parser inlines each referenced file at the first place that refers to it and points the
 * other refs there, so `node.yaml` referring to itself ends up as a ref back into
 * `#/paths/~1nodes/get/.../schema`. The IR inlines every ref that is not a component, so such a
 * cycle could not be generated (it was refused with its pointer). Here every schema on a cycle of
 * non-component refs moves to `#/components/schemas/<name>`, named after the file it came from
 * (`schemas/node.yaml` -> `node`), and the refs follow it: the IR then sees what a one-file spec
 * with a recursive component says, and emits a named recursive type and validator.
 */
import path from 'node:path';
import { SCHEMA_ARRAY_VALUED, SCHEMA_MAP_VALUED, SCHEMA_VALUED } from './ir-schema.js';
import { pointerJoin, pointerUnescape } from './names.js';
import { canonicalPointer, isObject, parseSpecText, setOwn, type Json, type JsonObject } from './spec-doc.js';
import { schemaRef, schemaRefName } from './schema/refs.js';

/** Where a node of the bundled document was written: a file and a JSON pointer inside it. */
export interface Origin {
  file: string;
  /** `''` for the whole file, else `/a/b`. */
  pointer: string;
}

interface RefSite {
  obj: JsonObject;
  /** Pointer of the `{$ref}` object itself. */
  at: string;
  target: string;
  inside: string[];
}

/** Moves the schemas on cross-file cycles into components; returns their names, in order. */
export function hoistCycles(root: JsonObject, originOf: (pointer: string) => Origin | undefined, baseDir: string): string[] {
  const sites: RefSite[] = [];
  collectRefs(root, '#', [], sites);
  const hoist = cyclicTargets(sites).filter(isSchemaPointer);
  if (!hoist.length) return [];
  const components = (isObject(root.components) ? root.components : (root.components = {})) as JsonObject;
  const schemas = (isObject(components.schemas) ? components.schemas : (components.schemas = {})) as JsonObject;
  // Names in an order that does not depend on where the bundler happened to inline a file.
  const named = hoist.map((at) => ({ at, origin: originOf(at) }));
  const key = (n: (typeof named)[number]) => (n.origin ? `${path.relative(baseDir, n.origin.file)}#${n.origin.pointer}` : `~${n.at}`);
  named.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const names = new Map<string, string>();
  for (const n of named) names.set(n.at, freeName(schemas, names, n.origin, n.at, baseDir));
  // Components in that order too (filled below).
  for (const name of names.values()) setOwn(schemas, name, null);
  // Deepest first: moving a schema never moves one that is still to be moved.
  const byDepth = [...hoist].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1));
  for (const at of byDepth) {
    const name = names.get(at)!;
    const { parent, key: last } = locate(root, at);
    setOwn(schemas, name, (parent as Record<string, Json>)[last]!);
    (parent as Record<string, Json>)[last] = { $ref: schemaRef(name) };
    const to = schemaRef(name);
    for (const s of sites) {
      if (s.target === at || s.target.startsWith(at + '/')) {
        s.target = to + s.target.slice(at.length);
        s.obj.$ref = s.target;
      }
    }
  }
  return [...names.values()];
}

/** Every local `{$ref}` object, with the pointers of the nodes it sits in (itself included). */
function collectRefs(node: Json, at: string, inside: string[], out: RefSite[]): void {
  if (!Array.isArray(node) && !isObject(node)) return;
  inside.push(at);
  if (Array.isArray(node)) node.forEach((v, i) => collectRefs(v, pointerJoin(at, i), inside, out));
  else {
    if (typeof node.$ref === 'string' && node.$ref.startsWith('#')) out.push({ obj: node, at, target: canonicalPointer(node.$ref), inside: inside.slice() });
    for (const [k, v] of Object.entries(node)) if (k !== '$ref') collectRefs(v, pointerJoin(at, k), inside, out);
  }
  inside.pop();
}

/** Non-component ref targets that reach themselves through refs to non-components (what the IR would refuse). */
function cyclicTargets(sites: RefSite[]): string[] {
  const inlined = (t: string) => schemaRefName(t) === null;
  const targets = [...new Set(sites.map((s) => s.target).filter(inlined))].sort();
  // An edge from each target to every inlined target a ref inside it names.
  const edges = new Map(targets.map((t) => [t, new Set<string>()]));
  for (const s of sites) if (inlined(s.target)) for (const a of s.inside) edges.get(a)?.add(s.target);
  // Tarjan's strongly connected components.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cyclic: string[] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || edges.get(v)!.has(v)) cyclic.push(...scc);
  };
  for (const t of targets) if (!index.has(t)) visit(t);
  return cyclic.sort();
}

/**
 * Whether a pointer names a schema by where it sits (`.../content/x/schema/properties/a/items`),
 * not a `properties` map, an example or an operation. Read from the root: `schema` and
 * `components/schemas/*` enter a schema; in one, only the schema-valued keywords stay in one.
 */
export function isSchemaPointer(pointer: string): boolean {
  const segs = pointer.split('/').slice(1).map(pointerUnescape);
  let state = 'doc' as 'doc' | 'schema' | 'map' | 'array' | 'other';
  for (const [i, seg] of segs.entries()) {
    if (state === 'doc') {
      if (seg === 'schema') state = 'schema';
      else if ((seg === 'schemas' && i === 1 && segs[0] === 'components') || (seg === 'definitions' && i === 0)) state = 'map';
    } else if (state === 'schema') {
      if (SCHEMA_VALUED.has(seg)) state = 'schema';
      else if (SCHEMA_MAP_VALUED.has(seg)) state = 'map';
      else if (SCHEMA_ARRAY_VALUED.has(seg)) state = 'array';
      else state = /^\d+$/.test(seg) && segs[i - 1] === 'items' ? 'schema' : 'other';
    } else if (state === 'map' || state === 'array') state = 'schema';
  }
  return state === 'schema';
}

function locate(root: JsonObject, pointer: string): { parent: Json; key: string } {
  const segs = pointer.split('/').slice(1).map(pointerUnescape);
  let node: Json = root;
  for (const seg of segs.slice(0, -1)) node = (node as Record<string, Json>)[seg]!;
  return { parent: node, key: segs.at(-1)! };
}

/**
 * The file's name (`schemas/node.yaml` -> `node`), or the definition's (`common.yaml#/components/schemas/Pet`
 * -> `Pet`); when taken, its folders in front, nearest first (`schemas_node`, `api_schemas_node`),
 * then a number (`node_2`).
 */
function freeName(schemas: JsonObject, chosen: Map<string, string>, origin: Origin | undefined, at: string, baseDir: string): string {
  const taken = (n: string) => Object.prototype.hasOwnProperty.call(schemas, n) || [...chosen.values()].includes(n);
  let base: string;
  let folders: string[] = [];
  if (origin) {
    const stem = path.basename(origin.file).replace(/\.(ya?ml|json)$/i, '');
    const segs = origin.pointer.split('/').slice(1).map(pointerUnescape);
    const definition = segs.length === 1 || (segs.length >= 2 && ['schemas', 'definitions', '$defs'].includes(segs.at(-2)!));
    base = segs.length === 0 ? stem : definition ? segs.at(-1)! : `${stem}_${segs.at(-1)}`;
    folders = path.relative(baseDir, path.dirname(origin.file)).split(path.sep).filter((s) => s && s !== '..');
  } else {
    base = pointerUnescape(at.split('/').filter((s) => !/^\d+$/.test(s)).at(-1) ?? 'schema');
  }
  for (let k = 0; k <= folders.length; k++) {
    const candidate = [...folders.slice(folders.length - k), base].join('_');
    if (!taken(candidate)) return candidate;
  }
  for (let i = 2; ; i++) if (!taken(`${base}_${i}`)) return `${base}_${i}`;
}

/**
 * Where a pointer of the bundled document was written: walks it through the files as they are on
 * disk, following each `$ref` on the way (the bundler put the target where the first ref was).
 * Files are parsed only when a cycle needs naming.
 */
export function originsFrom(rootFile: string, files: Map<string, Buffer>): (pointer: string) => Origin | undefined {
  const parsed = new Map<string, Json>();
  const doc = (file: string): Json | undefined => {
    if (!parsed.has(file)) {
      const bytes = files.get(file);
      if (!bytes) return undefined;
      parsed.set(file, parseSpecText(bytes.toString('utf8')) as Json);
    }
    return parsed.get(file);
  };
  const follow = (at: Origin, ref: string): Origin | undefined => {
    const hash = ref.indexOf('#');
    const part = hash < 0 ? ref : ref.slice(0, hash);
    if (/^[a-z][a-z0-9+.-]*:/i.test(part)) return undefined;
    const file = part ? path.resolve(path.dirname(at.file), decode(part)) : at.file;
    return { file, pointer: hash < 0 ? '' : canonicalPointer(ref.slice(hash)).slice(1) };
  };
  const get = (o: Origin): Json | undefined => {
    let node = doc(o.file);
    for (const seg of o.pointer.split('/').slice(1).map(pointerUnescape)) node = child(node, seg);
    return node;
  };
  return (pointer) => {
    let at: Origin = { file: rootFile, pointer: '' };
    const steps = pointer.split('/').slice(1);
    for (let i = 0; i <= steps.length; i++) {
      // Through refs first (a ref may lead to a ref), then one step down.
      for (let hops = 0; ; hops++) {
        const node = get(at);
        if (node === undefined || hops > 64) return undefined;
        if (!isObject(node) || typeof node.$ref !== 'string') break;
        // A ref with siblings holds its target at allOf/0 in the bundle (ref-siblings.ts).
        if (Object.keys(node).length > 1 && steps[i] === 'allOf' && steps[i + 1] === '0') i += 2;
        const next = follow(at, node.$ref);
        if (!next) return undefined;
        at = next;
      }
      if (i < steps.length) at = { file: at.file, pointer: `${at.pointer}/${steps[i]}` };
    }
    return at;
  };
}

function child(node: Json | undefined, seg: string): Json | undefined {
  if (Array.isArray(node)) return node[Number(seg)];
  return isObject(node) && Object.prototype.hasOwnProperty.call(node, seg) ? node[seg] : undefined;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
