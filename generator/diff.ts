/**
 * `diff --base`: the changes between two versions of a spec, each classified as breaking for
 * existing clients or not, like oasdiff. Breaking: a removed operation, status or response field;
 * a new required parameter or body field; a request type or enum narrowed; a response field that
 * may now be absent or of another type.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadSpecDocument } from './load.js';
import { isObject, type Json, type JsonObject } from './spec-doc.js';
import { specFiles } from './spec-files.js';

export interface SpecChange {
  breaking: boolean;
  /** `GET /pets/{id}` and where in it: `response 200 body.name`. */
  where: string;
  message: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
type Direction = 'request' | 'response';

class Side {
  constructor(readonly root: JsonObject) {}

  /** Follows local `$ref`s. */
  deref(node: Json | undefined): Json | undefined {
    for (let hops = 0; isObject(node) && typeof node.$ref === 'string' && hops < 32; hops++) {
      const ref = node.$ref;
      if (!ref.startsWith('#/')) return node;
      let cur: Json | undefined = this.root;
      for (const raw of ref.slice(2).split('/')) {
        const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
        cur = isObject(cur) && Object.prototype.hasOwnProperty.call(cur, key) ? cur[key] : undefined;
      }
      node = cur;
    }
    return node;
  }

  operations(): Map<string, { op: JsonObject; params: Map<string, JsonObject> }> {
    const out = new Map<string, { op: JsonObject; params: Map<string, JsonObject> }>();
    const paths = isObject(this.root.paths) ? this.root.paths : {};
    for (const [p, rawItem] of Object.entries(paths)) {
      const item = this.deref(rawItem);
      if (!isObject(item)) continue;
      for (const method of METHODS) {
        const op = item[method];
        if (!isObject(op)) continue;
        const params = new Map<string, JsonObject>();
        for (const list of [item.parameters, op.parameters]) {
          for (const raw of Array.isArray(list) ? list : []) {
            const prm = this.deref(raw);
            if (isObject(prm) && typeof prm.name === 'string') params.set(`${String(prm.in)} ${prm.name}`, prm);
          }
        }
        // Path templates compare by position, not by parameter name.
        out.set(`${method.toUpperCase()} ${p.replace(/\{[^}]+\}/g, '{}')}`, { op, params });
      }
    }
    return out;
  }

  /** The JSON schema of a request body or response, or null when it has none. */
  jsonSchema(holder: Json | undefined): Json | null {
    const h = this.deref(holder);
    if (!isObject(h) || !isObject(h.content)) return null;
    const entry = Object.entries(h.content).find(([type]) => /json/i.test(type)) ?? Object.entries(h.content)[0];
    const media = entry ? this.deref(entry[1]) : undefined;
    return isObject(media) && media.schema !== undefined ? media.schema : null;
  }
}

function typesOf(s: JsonObject): Set<string> | null {
  if (typeof s.type === 'string') {
    const t = new Set([s.type]);
    if (s.nullable === true) t.add('null');
    return t;
  }
  if (Array.isArray(s.type)) return new Set(s.type.filter((x): x is string => typeof x === 'string'));
  return null;
}

const list = (xs: Iterable<string>) => [...xs].map((x) => JSON.stringify(x)).join(', ');

export function diffSpecs(baseRoot: JsonObject, headRoot: JsonObject): SpecChange[] {
  const base = new Side(baseRoot);
  const head = new Side(headRoot);
  const changes: SpecChange[] = [];
  const add = (breaking: boolean, where: string, message: string) => changes.push({ breaking, where, message });

  const compareSchema = (where: string, dir: Direction, b: Json | undefined, h: Json | undefined, seen: Set<string>): void => {
    if (isObject(b) && isObject(h) && (b.$ref || h.$ref)) {
      const pair = `${String(b.$ref)}|${String(h.$ref)}|${dir}`;
      if (seen.has(pair)) return;
      seen = new Set(seen).add(pair);
    }
    const bs = base.deref(b);
    const hs = head.deref(h);
    if (!isObject(bs) || !isObject(hs)) return;
    const bt = typesOf(bs);
    const ht = typesOf(hs);
    if (bt && ht) {
      const lost = [...bt].filter((t) => !ht.has(t) && !(t === 'integer' && ht.has('number')));
      const gained = [...ht].filter((t) => !bt.has(t) && !(t === 'integer' && bt.has('number')));
      if (dir === 'request' && lost.length) add(true, where, `type narrowed: no longer accepts ${list(lost)}`);
      if (dir === 'response' && gained.length) add(true, where, `type changed: may now be ${list(gained)}`);
      if (dir === 'request' && gained.length && !lost.length) add(false, where, `type widened: also accepts ${list(gained)}`);
    } else if (!bt && ht && dir === 'request') {
      add(true, where, `type narrowed to ${list(ht)}`);
    }
    if (Array.isArray(bs.enum) || Array.isArray(hs.enum)) {
      const be = new Set((Array.isArray(bs.enum) ? bs.enum : []).map((v) => JSON.stringify(v)));
      const he = new Set((Array.isArray(hs.enum) ? hs.enum : []).map((v) => JSON.stringify(v)));
      const removed = Array.isArray(bs.enum) ? [...be].filter((v) => !he.has(v)) : [];
      const added = Array.isArray(hs.enum) ? [...he].filter((v) => !be.has(v)) : [];
      if (dir === 'request' && (removed.length || (!Array.isArray(bs.enum) && Array.isArray(hs.enum)))) {
        add(true, where, removed.length ? `enum narrowed: ${removed.join(', ')} no longer accepted` : 'now restricted to an enum');
      }
      if (dir === 'response' && added.length && Array.isArray(bs.enum)) add(false, where, `enum value(s) added: ${added.join(', ')} (clients should tolerate unknown values)`);
      if (dir === 'request' && added.length && Array.isArray(bs.enum)) add(false, where, `enum value(s) added: ${added.join(', ')}`);
      if (dir === 'response' && removed.length) add(false, where, `enum value(s) no longer sent: ${removed.join(', ')}`);
    }
    const bp = isObject(bs.properties) ? bs.properties : {};
    const hp = isObject(hs.properties) ? hs.properties : {};
    // A readOnly property is never part of a request and a writeOnly one never part of a response
    // (generator/ir-direction.ts): it is required there by no one, and its changes concern no client.
    const hiddenKey = dir === 'request' ? 'readOnly' : 'writeOnly';
    const hidden = (side: Side, p: Json | undefined) => {
      const d = side.deref(p);
      return (isObject(p) && p[hiddenKey] === true) || (isObject(d) && d[hiddenKey] === true);
    };
    const required = (side: Side, s: JsonObject, props: JsonObject) =>
      new Set(Array.isArray(s.required) ? s.required.filter((x): x is string => typeof x === 'string' && !hidden(side, props[x])) : []);
    const breq = required(base, bs, bp);
    const hreq = required(head, hs, hp);
    const has = (o: JsonObject, k: string) => Object.prototype.hasOwnProperty.call(o, k);
    for (const name of Object.keys(bp)) {
      const at = `${where}.${name}`;
      const wasHidden = hidden(base, bp[name]);
      if (!has(hp, name)) {
        if (wasHidden) continue;
        if (dir === 'response') add(true, at, 'response field removed');
        else add(false, at, 'request field removed');
        continue;
      }
      if (dir === 'response' && breq.has(name) && !hreq.has(name)) add(true, at, 'response field no longer required (may be absent)');
      if (dir === 'request' && !breq.has(name) && hreq.has(name)) add(true, at, 'request field now required');
      if (!wasHidden && !hidden(head, hp[name])) compareSchema(at, dir, bp[name], hp[name], seen);
    }
    for (const name of Object.keys(hp)) {
      if (has(bp, name)) continue;
      const at = `${where}.${name}`;
      if (hidden(head, hp[name])) add(false, at, `${hiddenKey} field added (never in a ${dir})`);
      else if (dir === 'request' && hreq.has(name)) add(true, at, 'new required request field');
      else add(false, at, `${dir} field added${hreq.has(name) ? '' : ' (optional)'}`);
    }
    if (bs.items !== undefined || hs.items !== undefined) compareSchema(`${where}[]`, dir, bs.items, hs.items, seen);
  };

  const bOps = base.operations();
  const hOps = head.operations();
  for (const [key, b] of bOps) {
    const h = hOps.get(key);
    const name = typeof b.op.operationId === 'string' ? ` (${b.op.operationId})` : '';
    if (!h) {
      add(true, key, `operation removed${name}`);
      continue;
    }
    for (const [pk, bp] of b.params) {
      const hp = h.params.get(pk);
      if (!hp) add(false, `${key} parameter ${pk}`, 'parameter removed');
      else {
        if (hp.required === true && bp.required !== true) add(true, `${key} parameter ${pk}`, 'parameter now required');
        compareSchema(`${key} parameter ${pk}`, 'request', bp.schema, hp.schema, new Set());
      }
    }
    for (const [pk, hp] of h.params) {
      if (!b.params.has(pk)) add(hp.required === true, `${key} parameter ${pk}`, hp.required === true ? 'new required parameter' : 'new optional parameter');
    }
    const bBody = base.deref(b.op.requestBody);
    const hBody = head.deref(h.op.requestBody);
    if (isObject(hBody) && hBody.required === true && !(isObject(bBody) && bBody.required === true)) add(true, `${key} body`, 'request body now required');
    const bReq = base.jsonSchema(b.op.requestBody);
    const hReq = head.jsonSchema(h.op.requestBody);
    if (bReq !== null && hReq !== null) compareSchema(`${key} body`, 'request', bReq, hReq, new Set());
    const bRes = isObject(b.op.responses) ? b.op.responses : {};
    const hRes = isObject(h.op.responses) ? h.op.responses : {};
    for (const status of Object.keys(bRes)) {
      if (!Object.prototype.hasOwnProperty.call(hRes, status)) {
        add(true, `${key} response ${status}`, 'status removed');
        continue;
      }
      const bs = base.jsonSchema(bRes[status]);
      const hs = head.jsonSchema(hRes[status]);
      if (bs !== null && hs === null) add(true, `${key} response ${status}`, 'response body removed');
      else if (bs !== null && hs !== null) compareSchema(`${key} response ${status} body`, 'response', bs, hs, new Set());
    }
    for (const status of Object.keys(hRes)) if (!Object.prototype.hasOwnProperty.call(bRes, status)) add(false, `${key} response ${status}`, 'status added');
  }
  for (const [key, h] of hOps) if (!bOps.has(key)) add(false, key, `operation added${typeof h.op.operationId === 'string' ? ` (${h.op.operationId})` : ''}`);
  return changes;
}

/**
 * The base spec: a file, or a git ref (`main`, `HEAD~1`, `v1.2.0`) at which the spec is read with
 * `git show`: its root at the same path and every file it references as they were at that ref,
 * laid out in a temp folder as in the repository so that the relative refs resolve.
 */
export async function loadBase(base: string, specPath: string): Promise<JsonObject> {
  if (existsSync(base)) return (await loadSpecDocument(base)).root;
  const root = path.resolve(specPath);
  const cwd = path.dirname(root);
  const git = (args: string[]) => execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
  let prefix: string;
  try {
    prefix = git(['rev-parse', '--show-prefix']).toString('utf8').trim();
  } catch (e) {
    throw cannotShow(base, e);
  }
  /** Where a file sits in the repository (`spec/common.yaml`), or null outside it. */
  const inRepo = (file: string): string | null => {
    const rel = path.posix.normalize(prefix + path.relative(cwd, file).split(path.sep).join('/'));
    return rel.startsWith('../') ? null : rel;
  };
  const show = async (file: string): Promise<Buffer | null> => {
    const rel = inRepo(file);
    if (rel === null) return null;
    try {
      return git(['show', `${base}:${rel}`]);
    } catch (e) {
      if (file === root) throw cannotShow(base, e);
      return null; // a referenced file the ref lacks: the bundler names it
    }
  };
  const { files } = await specFiles(specPath, show);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lavendly-base-'));
  try {
    for (const f of files) {
      const to = path.join(dir, inRepo(f.path)!);
      await mkdir(path.dirname(to), { recursive: true });
      await writeFile(to, f.bytes);
    }
    return (await loadSpecDocument(path.join(dir, inRepo(root)!))).root;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function cannotShow(base: string, e: unknown): Error {
  const why = String((e as { stderr?: Buffer | string }).stderr ?? (e as Error).message).trim().split('\n')[0];
  return new Error(`--base ${base}: not a file, and git cannot show the spec at that ref (${why})`);
}
