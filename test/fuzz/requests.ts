/**
 * Requests for one operation: a valid one built from the spec (examples, schemas, real ids), or
 * one mutation of it in one place (a body field, the raw body, a query or path value, a header,
 * the content type, the method). Each request says what was mutated, for the report.
 */
import type { Random } from './random.js';
import type { Schema, SpecSchemas, ValueMaker } from './values.js';
import type { Upload } from './world.js';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

export interface ParamSpec {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

export interface OperationSpec {
  id: string;
  method: string;
  path: string;
  /** Methods the same path answers (for the wrong-method mutation). */
  pathMethods: string[];
  secured: boolean;
  idempotent: boolean;
  params: ParamSpec[];
  body: { required: boolean; media: Record<string, { schema: Schema; examples: unknown[] }> } | null;
}

export function operationsOf(spec: SpecSchemas): OperationSpec[] {
  const out: OperationSpec[] = [];
  for (const [path, item] of Object.entries<any>(spec.doc.paths)) {
    const pathMethods = METHODS.filter((m) => item[m]);
    for (const method of pathMethods) {
      const op = item[method];
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: any) => spec.resolve(p).schema as ParamSpec);
      let body: OperationSpec['body'] = null;
      if (op.requestBody) {
        const rb = spec.resolve(op.requestBody).schema;
        const media: NonNullable<OperationSpec['body']>['media'] = {};
        for (const [type, m] of Object.entries<any>(rb.content)) {
          media[type] = { schema: m.schema, examples: [...(m.example !== undefined ? [m.example] : []), ...Object.values<any>(m.examples ?? {}).map((e) => e.value)] };
        }
        body = { required: rb.required === true, media };
      }
      out.push({
        id: op.operationId, method, path, pathMethods, params, body,
        secured: !(Array.isArray(op.security) && op.security.length === 0), idempotent: op['x-idempotent'] === true,
      });
    }
  }
  return out;
}

export interface FuzzRequest {
  op: OperationSpec;
  method: string;
  /** Under the server's base path, encoded. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** What was changed from a valid request ('valid' when nothing). */
  mutation: string;
  /** True when the path or method no longer names the operation (answers may come from the router). */
  offRoute: boolean;
}

/** What the request maker needs of the live server's world. */
export interface RequestContext {
  key: string;
  otherKey: string;
  /** Real cursors handed out, by operation. */
  cursors: Map<string, string[]>;
  /** Open upload slots by id (token and kind), and a real file of each kind. */
  uploads: Record<string, Upload>;
  media: Record<string, Buffer>;
  /** Ids DELETE requests leave alone. */
  keep: Set<string>;
  /** Node ids by workflow id: a body or path that names a workflow gets its own nodes. */
  nodes: Record<string, string[]>;
}

const RAW_BODIES = (valid: string): (string | Buffer)[] => [
  '', '{', '{"a":1,}', 'null', '[]', '"x"', '123', '\ufeff' + valid, `${valid}garbage`, valid.slice(0, Math.floor(valid.length / 2)),
  valid.replace(/(:\s*)-?\d+(\.\d+)?/, '$11e999'), valid.replace(/(:\s*)"[^"]*"/, '$1"\\ud800"'), valid.replace(/(:\s*)"[^"]*"/, '$1"\\u0000"'),
  `{"a":${'['.repeat(80)}${']'.repeat(80)}}`, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), `{"pad":"${'a'.repeat(1_100_000)}"}`,
  '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}',
];
const CONTENT_TYPES = ['text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
  'application/merge-patch+json', 'application/octet-stream', 'application/json;;;', 'APPLICATION/JSON', 'application/json; charset="UTF-8"'];
const QUERY_VALUES = ['', '0x10', '1e1', ' 5', '+5', '5.0', '-1', '0', '101', '1e309', 'abc', '\u0000', 'a'.repeat(5_000), 'true', '[]', '%', '\ud83e'];
const HEADER_VALUES = ['', ' ', 'k'.repeat(300), 'cl\u00e9', 'W/"x"', '*', '"99999999999999999999"', '"-1"', '""', '"1", "2"', '"1.5"', 'null'];

export class RequestMaker {
  private issuedKeys: string[] = [];
  private counter = 0;
  constructor(
    private readonly spec: SpecSchemas, private readonly rnd: Random, private readonly values: ValueMaker, private readonly ctx: RequestContext,
  ) {}

  make(op: OperationSpec): FuzzRequest {
    const req = this.valid(op);
    const kinds = ['valid', 'valid', 'valid', 'body-text', 'body-bound', 'body-field', 'body-field', 'body-required', 'body-extra', 'body-raw', 'query', 'query', 'path', 'header', 'auth', 'content-type', 'method'];
    const kind = this.rnd.pick(kinds);
    if (kind !== 'valid') this.mutate(req, kind);
    return req;
  }

  /**
   * The operation's path with real (or valid-looking) ids, one parameter optionally given as raw
   * text. Node ids that follow a workflow id (a clip) are that workflow's own.
   */
  private fillPath(op: OperationSpec, raw?: { name: string; text: string }): string {
    let path = op.path;
    this.values.focus = {};
    // A DELETE removes what its last parameter names; the ones before it (the workflow a track
    // belongs to) only lead there, so a kept object may stand in them.
    const removed = op.method === 'delete' ? op.params.filter((p) => p.in === 'path').at(-1) : undefined;
    for (const p of op.params) {
      if (p.in !== 'path') continue;
      const workflow = /^\/workflows\/([^/?{]+)/.exec(path)?.[1];
      if (workflow && this.ctx.nodes[decode(workflow)]) this.values.focus = { NodeId: this.ctx.nodes[decode(workflow)]! };
      let value = String(this.values.valid(p.schema));
      for (let i = 0; p === removed && this.ctx.keep.has(value) && i < 10; i++) value = String(this.values.valid(p.schema));
      if (p === removed && this.ctx.keep.has(value)) value = `${value}x`;
      path = path.replace(`{${p.name}}`, p.name === raw?.name ? raw.text : encode(value));
    }
    return path;
  }

  private valid(op: OperationSpec): FuzzRequest {
    const path = this.fillPath(op); // leaves the path's workflow nodes in focus for the body
    const query: [string, string][] = [];
    const headers: Record<string, string> = {};
    for (const p of op.params) {
      if (p.in === 'path') continue;
      if (p.in === 'query' && (p.required || this.rnd.chance(0.5))) {
        const real = p.name === 'cursor' ? this.ctx.cursors.get(op.id) : undefined;
        const token = p.name === 'token' ? this.uploadIn(path)?.token : undefined;
        // A long poll waits as long as it is told when nothing changes (no worker runs here): a
        // second is enough to exercise the wait, the spec's 30 would stall the run.
        const wait = p.name === 'wait_s' ? String(this.rnd.between(0, 1)) : undefined;
        query.push([p.name, token ?? wait ?? (real?.length ? this.rnd.pick(real) : String(this.values.valid(p.schema)))]);
      } else if (p.in === 'header' && this.rnd.chance(0.6)) {
        headers[p.name] = p.name === 'Idempotency-Key' ? this.idempotencyKey() : p.name === 'If-Match' ? `"${this.rnd.between(1, 4)}"` : String(this.values.valid(p.schema));
      }
    }
    if (op.secured || this.rnd.chance(0.3)) headers.authorization = `Bearer ${this.ctx.key}`;
    const req: FuzzRequest = { op, method: op.method.toUpperCase(), path: withQuery(path, query), headers, mutation: 'valid', offRoute: false };
    if (op.body && (op.body.required || this.rnd.chance(0.8))) {
      const [type, media] = Object.entries(op.body.media)[0]!;
      headers['content-type'] = type;
      if (type === 'application/json') {
        const value = media.examples.length && this.rnd.chance(0.3) ? this.values.localized(this.rnd.pick(media.examples)) : this.values.valid(media.schema);
        req.body = Buffer.from(JSON.stringify(value));
      } else {
        // Raw bytes go to an upload slot: mostly a real file of the slot's kind, so the upload is stored.
        const file = this.ctx.media[this.uploadIn(path)?.kind ?? ''];
        req.body = file && this.rnd.chance(0.8) ? file : Buffer.from(this.rnd.word(this.rnd.between(1, 64)));
      }
    }
    return req;
  }

  /** The upload slot a path names (`/uploads/{id}`), if the fuzz knows it. */
  private uploadIn(path: string): Upload | undefined {
    return /^\/uploads\//.test(path) ? this.ctx.uploads[decode(path.split('/')[2]?.split('?')[0] ?? '')] : undefined;
  }

  private idempotencyKey(): string {
    if (this.issuedKeys.length && this.rnd.chance(0.2)) return this.rnd.pick(this.issuedKeys);
    const key = `fuzz-${this.counter++}-${this.rnd.word(6)}`;
    this.issuedKeys.push(key);
    return key;
  }

  private mutate(req: FuzzRequest, kind: string): void {
    const op = req.op;
    const json = op.body?.media['application/json'];
    const parsed = req.body && req.headers['content-type'] === 'application/json' ? JSON.parse(req.body.toString()) : undefined;
    req.mutation = kind;
    switch (kind) {
      case 'body-text': {
        // One string of an otherwise valid body (or the query) becomes text a database may refuse.
        const leaves = parsed === undefined ? [] : stringLeaves(parsed);
        if (!leaves.length) return this.mutate(req, 'query');
        const path = this.rnd.pick(leaves);
        setAt(parsed, path, this.values.hostileText());
        req.body = Buffer.from(JSON.stringify(parsed));
        req.mutation = `body-text ${path.join('.')}`;
        return;
      }
      case 'body-bound': {
        // One leaf of a valid body moved to the edge of its schema: valid, so the handler sees it.
        const leaves = parsed === undefined || !json ? [] : leafPaths(parsed);
        if (!leaves.length) return this.mutate(req, 'body-field');
        const path = this.rnd.pick(leaves);
        const schema = this.schemaAt(json!.schema, path);
        if (!schema) return this.mutate(req, 'body-field');
        setAt(parsed, path, this.values.boundary(schema));
        req.body = Buffer.from(JSON.stringify(parsed));
        req.mutation = `body-bound ${path.join('.')}`;
        return;
      }
      case 'body-field':
      case 'body-required':
      case 'body-extra': {
        if (!json) return this.mutate(req, 'body-raw');
        const value = parsed ?? this.values.valid(json.schema);
        let changed = value;
        if (kind === 'body-field') for (let n = this.rnd.between(1, 3); n > 0; n--) changed = this.mutateAt(changed, json.schema);
        else changed = kind === 'body-required'
          ? this.dropRequired(value, json.schema) : addExtra(value, this.rnd.word(5));
        req.headers['content-type'] = 'application/json';
        req.body = Buffer.from(JSON.stringify(changed) ?? 'null');
        return;
      }
      case 'body-raw': {
        const file = this.ctx.media[this.uploadIn(req.path)?.kind ?? ''];
        if (file && this.rnd.chance(0.5)) {
          // A file cut short, or a real file of another kind than the slot takes.
          const other = this.rnd.pick(Object.values(this.ctx.media).filter((m) => m !== file));
          req.body = this.rnd.chance(0.5) ? file.subarray(0, this.rnd.between(1, file.length - 1)) : other;
          req.mutation = 'body-raw file';
          return;
        }
        const raw = this.rnd.pick(RAW_BODIES(req.body?.toString() ?? '{"name":"x","n":1}'));
        req.body = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
        req.headers['content-type'] ??= 'application/json';
        return;
      }
      case 'query': {
        const names = [...op.params.filter((p) => p.in === 'query').map((p) => p.name), 'limit', this.rnd.word(4)];
        const name = this.rnd.pick(names);
        const value = this.rnd.chance(0.2) ? tamper(this.rnd, this.ctx.cursors.get(op.id)?.[0] ?? 'eyJ4IjoxfQ') : this.rnd.pick(QUERY_VALUES);
        const sep = req.path.includes('?') ? '&' : '?';
        const form = this.rnd.pick([`${name}=${encode(value)}`, `${name}=1&${name}=2`, `${name}[]=${encode(value)}`, `${name}[a]=1`, name]);
        req.path += sep + form;
        req.mutation = `query ${name}`;
        return;
      }
      case 'path': {
        const params = op.params.filter((p) => p.in === 'path');
        if (!params.length) return this.mutate(req, 'method');
        const p = this.rnd.pick(params);
        const value = this.rnd.chance(0.3) ? this.rnd.pick(['..%2F..%2Fetc', '%2e%2e', 'a%2Fb', '%FF', '%C0%AE', '%E0%A4%A', '%00', ' ']) : encode(String(this.values.mutant(p.schema)));
        const query = req.path.indexOf('?');
        req.path = this.fillPath(op, { name: p.name, text: value.length ? value : '%20' }) + (query >= 0 ? req.path.slice(query) : '');
        req.mutation = `path ${p.name}`;
        req.offRoute = true;
        return;
      }
      case 'header': {
        const declared = op.params.filter((p) => p.in === 'header').map((p) => p.name);
        // Framing headers (Content-Length, Transfer-Encoding) are left to the raw-socket cases.
        const name = this.rnd.pick([...declared, 'Idempotency-Key', 'If-Match', 'X-Request-Id', 'Accept', 'Origin']);
        req.headers[name.toLowerCase()] = this.rnd.pick(HEADER_VALUES);
        req.mutation = `header ${name}`;
        return;
      }
      case 'auth': {
        const value = this.rnd.pick(['', 'Bearer', 'Basic YTpi', `Bearer ${this.ctx.otherKey}`, 'Bearer lvd_fake', `bearer   ${this.ctx.key}`, `Bearer ${this.ctx.key}x`, `Bearer ${'k'.repeat(5_000)}`]);
        if (value) req.headers.authorization = value;
        else delete req.headers.authorization;
        return;
      }
      case 'content-type': {
        req.headers['content-type'] = this.rnd.pick(CONTENT_TYPES);
        if (this.rnd.chance(0.2)) req.headers['content-encoding'] = this.rnd.pick(['gzip', 'br', 'identity, gzip']);
        req.body ??= Buffer.from('{}');
        return;
      }
      case 'method': {
        const others = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'].filter((m) => !op.pathMethods.includes(m.toLowerCase()));
        req.method = this.rnd.pick(others);
        req.mutation = `method ${req.method}`;
        req.offRoute = true;
        return;
      }
    }
  }

  /** Replaces one value somewhere in `value` (following the schema) by a mutant. */
  private mutateAt(value: unknown, node: Schema): unknown {
    const { schema } = this.spec.resolve(node);
    if (schema.properties && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const key = this.rnd.pick(Object.keys(schema.properties));
      const current = (value as Record<string, unknown>)[key];
      const sub = schema.properties[key];
      const deeper = current !== null && typeof current === 'object' && this.rnd.chance(0.5);
      return { ...value, [key]: deeper ? this.mutateAt(current, sub) : this.values.mutant(sub) };
    }
    const items = schema.items;
    if (items && Array.isArray(value) && value.length && this.rnd.chance(0.7)) {
      const i = this.rnd.int(value.length);
      const copy = [...value];
      copy[i] = this.rnd.chance(0.5) ? this.mutateAt(copy[i], items) : this.values.mutant(items);
      return copy;
    }
    return this.values.mutant(node);
  }

  /** The schema of the value at `path` (through properties and items), or null where it branches. */
  private schemaAt(node: Schema, path: (string | number)[]): Schema | null {
    let current: any = node;
    for (const key of path) {
      const { schema } = this.spec.resolve(current);
      current = typeof key === 'number' ? schema.items : schema.properties?.[key];
      if (!current) return null;
    }
    return current;
  }

  private dropRequired(value: unknown, node: Schema): unknown {
    const { schema } = this.spec.resolve(node);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const required: string[] = schema.required ?? [];
    const copy = { ...(value as Record<string, unknown>) };
    delete copy[required.length ? this.rnd.pick(required) : this.rnd.pick(Object.keys(copy).concat('x'))];
    return copy;
  }
}

/** Paths of every string, number and boolean in a JSON value. */
function leafPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => leafPaths(v, [...path, i]));
  if (typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...path, k]));
  return [path];
}

/** Paths of every string in a JSON value. */
function stringLeaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, [...path, i]));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...path, k]));
  return [];
}

function setAt(root: unknown, path: (string | number)[], value: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
}

function addExtra(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...value, [key]: 'extra' } : { [key]: value };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** encodeURIComponent, except that a lone surrogate goes out as the bytes of its (invalid) UTF-8 form. */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value.split('').map((c) => (/[\ud800-\udfff]/.test(c) ? '%ED%A0%80' : encodeURIComponent(c))).join('');
  }
}

function withQuery(path: string, query: [string, string][]): string {
  return query.length ? `${path}?${query.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')}` : path;
}

/** A cursor with one character changed, or cut short. */
function tamper(rnd: Random, cursor: string): string {
  if (rnd.chance(0.3)) return cursor.slice(0, Math.max(1, cursor.length - rnd.between(1, 5)));
  const i = rnd.int(cursor.length);
  return cursor.slice(0, i) + (cursor[i] === 'A' ? 'B' : 'A') + cursor.slice(i + 1);
}
