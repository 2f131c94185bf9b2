/**
 * spec -> IR. The document is parsed once; every non-schema $ref is resolved here, every schema is
 * normalised (ir-schema.ts), vendor extensions are read and checked, and every name the emitters
 * need is made a valid, unique, deterministic identifier. Problems throw SpecError with a pointer.
 */
import type {
  HttpMethod, IrAsyncJob, IrDocument, IrEncoding, IrMcpTool, IrMediaBody, IrOperation, IrParameter, IrRequestBody, IrSdkUpload,
  IrResponse, IrSchemaComponent, IrTag, IrWebhook,
} from './ir-types.js';
import { splitByDirection } from './ir-direction.js';
import { SchemaNormaliser } from './ir-schema.js';
import { checkDirectCycles } from './schema/cycles.js';
import { loadSpecDocument } from './load.js';
import { NameAllocator, RESERVED_TYPE_NAMES, RESERVED_VALUE_NAMES, pointerJoin, toIdentifier, toPascal } from './names.js';
import {
  SpecDoc, SpecError, expectObject, isObject, optionalBoolean, optionalString, parseSpecText, setOwn, stringArray,
  type Json, type JsonObject,
} from './spec-doc.js';

export { SpecError } from './spec-doc.js';

const METHODS: HttpMethod[] = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const LOCATIONS = ['path', 'query', 'header', 'cookie'] as const;

/** The IR of the spec at `specPath`; a multi-file spec is bundled first (load.ts). */
export async function buildIr(specPath: string): Promise<IrDocument> {
  const { root, hash } = await loadSpecDocument(specPath);
  return new IrBuilder(new SpecDoc(root), specPath.replace(/\\/g, '/'), hash).build();
}

export function buildIrFromText(text: string, specPath: string, specHash: string): IrDocument {
  const root = expectObject(parseSpecText(text), '#', 'the document');
  return new IrBuilder(new SpecDoc(root), specPath, specHash).build();
}

class IrBuilder {
  private readonly root: JsonObject;
  private readonly schemas: SchemaNormaliser;
  private readonly components: JsonObject;
  private readonly version: string;

  constructor(
    private readonly doc: SpecDoc,
    private readonly specPath: string,
    private readonly specHash: string,
  ) {
    this.root = doc.root;
    const openapi = this.root.openapi;
    if (typeof openapi !== 'string' || !/^3\.[01]\.\d+/.test(openapi)) {
      const found = this.root.swagger ? `Swagger ${String(this.root.swagger)}` : JSON.stringify(openapi ?? null);
      throw new SpecError('#/openapi', `expected OpenAPI 3.0.x or 3.1.x, found ${found}`);
    }
    this.version = openapi;
    this.components = this.root.components === undefined ? {} : expectObject(this.root.components, '#/components', 'components');
    const schemas = this.components.schemas === undefined ? {} : expectObject(this.components.schemas, '#/components/schemas', 'components.schemas');
    this.schemas = new SchemaNormaliser(doc, new Set(Object.keys(schemas)));
  }

  build(): IrDocument {
    const info = expectObject(this.root.info, '#/info', 'info');
    const title = optionalString(info.title, '#/info/title') ?? '';
    const version = optionalString(info.version, '#/info/version') ?? '';
    const { serverUrl, basePath } = this.server();
    const typeNames = new NameAllocator(RESERVED_TYPE_NAMES);
    const written = this.componentSchemas(typeNames);
    checkDirectCycles(written);
    const operations = this.operations();
    const webhooks = this.webhooks();
    const schemas = splitByDirection(written, operations, webhooks, typeNames);
    this.checkAsyncJobs(operations);
    const tagInfo = this.tagInfo(operations);
    const valueNames = new NameAllocator(RESERVED_VALUE_NAMES);
    for (const op of operations) {
      op.identifier = valueNames.take(toIdentifier(op.operationId));
      op.typeName = typeNames.take(toPascal(op.identifier), ['', 'Input', 'Result']);
      op.tagIdentifier = tagInfo.find((t) => t.name === op.tag)!.identifier;
    }
    return {
      specPath: this.specPath,
      specHash: this.specHash,
      openapiVersion: this.version,
      title,
      version,
      ...(typeof info.description === 'string' ? { description: info.description } : {}),
      basePath,
      serverUrl,
      schemas,
      operations,
      webhooks,
      tags: tagInfo.map((t) => t.name),
      tagInfo,
      securitySchemes: this.securitySchemes(),
      security: Array.isArray(this.root.security) ? this.root.security.map((req) => (isObject(req) ? Object.keys(req) : [])) : [],
    };
  }

  /** `components.securitySchemes`, each $ref followed to the scheme object it names. */
  private securitySchemes(): Record<string, unknown> {
    const raw = isObject(this.components.securitySchemes) ? this.components.securitySchemes : {};
    const out: Record<string, unknown> = {};
    // Defined, not assigned: a scheme named `__proto__` would otherwise set the map's prototype and
    // vanish from the SDKs' scheme table, and its operations would go out without their credential.
    for (const [name, scheme] of Object.entries(raw)) setOwn(out, name, this.doc.deref(scheme, pointerJoin('#/components/securitySchemes', name)).node);
    return out;
  }

  private server(): { serverUrl: string; basePath: string } {
    const servers = this.root.servers;
    const first = Array.isArray(servers) && isObject(servers[0]) ? servers[0] : undefined;
    if (!first || typeof first.url !== 'string') return { serverUrl: '', basePath: '' };
    const vars = isObject(first.variables) ? first.variables : {};
    const url = first.url.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const v = vars[name];
      return isObject(v) && typeof v.default === 'string' ? v.default : '';
    });
    let path = url;
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(.*)$/i.exec(url) ?? /^\/\/[^/]*(.*)$/.exec(url);
    if (m) path = m[1] ?? '';
    path = path.replace(/[?#].*$/, '').replace(/\/+$/, '');
    return { serverUrl: url, basePath: path.startsWith('/') ? path : path ? '/' + path : '' };
  }

  private componentSchemas(names: NameAllocator): IrSchemaComponent[] {
    const schemas = isObject(this.components.schemas) ? this.components.schemas : {};
    return Object.entries(schemas).map(([name, node]) => ({
      name,
      identifier: names.take(toPascal(name)),
      schema: this.schemas.normalise(node, pointerJoin('#/components/schemas', name)),
    }));
  }

  private operations(): IrOperation[] {
    const paths = this.root.paths === undefined ? {} : expectObject(this.root.paths, '#/paths', 'paths');
    const ops: IrOperation[] = [];
    const seenIds = new Map<string, string>();
    for (const [path, rawItem] of Object.entries(paths)) {
      const itemPointer = pointerJoin('#/paths', path);
      if (!path.startsWith('/')) throw new SpecError(itemPointer, 'a path must start with "/"');
      // `/ab/{a}{b}`: no router can tell where one value ends (path-to-regexp refused the route at start-up).
      if (path.includes('}{')) throw new SpecError(itemPointer, 'two path parameters side by side ("}{") cannot be told apart: put text between them');
      const { node: item, pointer: itemAt } = this.doc.deref(rawItem, itemPointer);
      const pathItem = expectObject(item, itemAt, 'a path item');
      const shared = this.parameterList(pathItem.parameters, pointerJoin(itemAt, 'parameters'));
      for (const method of METHODS) {
        if (pathItem[method] === undefined) continue;
        const at = pointerJoin(itemAt, method);
        const op = this.operation(expectObject(pathItem[method], at, 'an operation'), at, method, path, shared);
        const clash = seenIds.get(op.operationId);
        if (clash) throw new SpecError(pointerJoin(at, 'operationId'), `duplicate operationId "${op.operationId}" (also at ${clash})`);
        seenIds.set(op.operationId, at);
        ops.push(op);
      }
    }
    return ops;
  }

  /** OpenAPI 3.1 `webhooks`: name -> path item whose operations describe what the API sends. */
  private webhooks(): IrWebhook[] {
    if (this.root.webhooks === undefined) return [];
    const webhooks = expectObject(this.root.webhooks, '#/webhooks', 'webhooks');
    const out: IrWebhook[] = [];
    for (const [name, rawItem] of Object.entries(webhooks)) {
      const { node: item, pointer: itemAt } = this.doc.deref(rawItem, pointerJoin('#/webhooks', name));
      const pathItem = expectObject(item, itemAt, 'a path item');
      for (const method of METHODS) {
        if (pathItem[method] === undefined) continue;
        const at = pointerJoin(itemAt, method);
        const o = expectObject(pathItem[method], at, 'an operation');
        const summary = optionalString(o.summary, pointerJoin(at, 'summary'));
        const description = optionalString(o.description, pointerJoin(at, 'description'));
        out.push({
          name,
          method,
          ...(summary !== undefined ? { summary } : {}),
          ...(description !== undefined ? { description } : {}),
          body: o.requestBody === undefined ? null : this.requestBody(o.requestBody, pointerJoin(at, 'requestBody')),
          pointer: at,
        });
      }
    }
    return out;
  }

  private operation(o: JsonObject, at: string, method: HttpMethod, path: string, shared: IrParameter[]): IrOperation {
    const operationId = optionalString(o.operationId, pointerJoin(at, 'operationId')) ?? toIdentifier(`${method}${path}`);
    const tags = stringArray(o.tags, pointerJoin(at, 'tags'));
    const parameters = mergeParameters(shared, this.parameterList(o.parameters, pointerJoin(at, 'parameters')), path);
    const security = (o.security ?? this.root.security ?? []) as Json;
    if (!Array.isArray(security)) throw new SpecError(pointerJoin(at, 'security'), 'must be an array');
    const pagination = o['x-pagination'];
    if (pagination !== undefined && pagination !== 'cursor') throw new SpecError(pointerJoin(at, 'x-pagination'), 'the only supported value is "cursor"');
    const sdkMethod = optionalString(o['x-sdk-method'], pointerJoin(at, 'x-sdk-method'));
    const summary = optionalString(o.summary, pointerJoin(at, 'summary'));
    const description = optionalString(o.description, pointerJoin(at, 'description'));
    return {
      operationId,
      identifier: '',
      typeName: '',
      method,
      path,
      tag: tags[0] ?? 'default',
      tagIdentifier: '',
      ...(summary !== undefined ? { summary } : {}),
      ...(description !== undefined ? { description } : {}),
      deprecated: optionalBoolean(o.deprecated, pointerJoin(at, 'deprecated')),
      parameters,
      requestBody: o.requestBody === undefined ? null : this.requestBody(o.requestBody, pointerJoin(at, 'requestBody')),
      responses: this.responses(o.responses, pointerJoin(at, 'responses')),
      secured: security.length > 0 && security.every((req) => isObject(req) && Object.keys(req).length > 0),
      security: security.map((req) => (isObject(req) ? Object.keys(req) : [])),
      idempotent: optionalBoolean(o['x-idempotent'], pointerJoin(at, 'x-idempotent')),
      scopes: stringArray(o['x-scopes'], pointerJoin(at, 'x-scopes')),
      pagination: pagination === 'cursor' ? 'cursor' : null,
      chargesCredits: optionalBoolean(o['x-charges-credits'], pointerJoin(at, 'x-charges-credits')),
      asyncJob: o['x-async-job'] === undefined ? null : asyncJob(o['x-async-job'], pointerJoin(at, 'x-async-job')),
      mcpTools: o['x-mcp'] === undefined ? [] : mcpTools(o['x-mcp'], pointerJoin(at, 'x-mcp'), summary ?? description ?? ''),
      ...(sdkMethod !== undefined ? { sdkMethod } : {}),
      sdkUpload: o['x-sdk-upload'] === undefined ? null : sdkUpload(o['x-sdk-upload'], pointerJoin(at, 'x-sdk-upload')),
      pointer: at,
    };
  }

  private parameterList(list: Json | undefined, at: string): IrParameter[] {
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw new SpecError(at, 'parameters must be an array');
    return list.map((raw, i) => this.parameter(raw, pointerJoin(at, i)));
  }

  private parameter(raw: Json, usedAt: string): IrParameter {
    const { node, pointer } = this.doc.deref(raw, usedAt);
    const p = expectObject(node, pointer, 'a parameter');
    if (typeof p.name !== 'string' || !p.name) throw new SpecError(pointerJoin(pointer, 'name'), 'a parameter needs a name');
    const location = p.in;
    if (typeof location !== 'string' || !(LOCATIONS as readonly string[]).includes(location)) {
      throw new SpecError(pointerJoin(pointer, 'in'), `must be one of ${LOCATIONS.join(', ')}`);
    }
    if (location === 'cookie') {
      // Nothing downstream reads or sends one: the routes would never check it, the handler
      // would never see it and the SDKs would never send it, a required one included.
      throw new SpecError(pointerJoin(pointer, 'in'), `cookie parameters are not supported ("${p.name}"): the generated routes, handlers and SDKs would ignore it; make it a header or query parameter`);
    }
    let schema = this.schemas.normalise(p.schema, pointerJoin(pointer, 'schema'));
    let contentType: string | undefined;
    if (p.schema === undefined && isObject(p.content)) {
      const [type, media] = Object.entries(p.content)[0] ?? [];
      if (type && isObject(media)) schema = this.schemas.normalise(media.schema, pointerJoin(pointer, 'content', type, 'schema'));
      contentType = type;
    }
    const style = optionalString(p.style, pointerJoin(pointer, 'style')) ?? (location === 'query' || location === 'cookie' ? 'form' : 'simple');
    const description = optionalString(p.description, pointerJoin(pointer, 'description'));
    return {
      name: p.name,
      in: location as IrParameter['in'],
      required: location === 'path' ? true : optionalBoolean(p.required, pointerJoin(pointer, 'required')),
      ...(description !== undefined ? { description } : {}),
      schema,
      style,
      explode: typeof p.explode === 'boolean' ? p.explode : style === 'form',
      ...(contentType !== undefined ? { contentType } : {}),
      pointer,
    };
  }

  private requestBody(raw: Json, usedAt: string): IrRequestBody {
    const { node, pointer } = this.doc.deref(raw, usedAt);
    const b = expectObject(node, pointer, 'a request body');
    const description = optionalString(b.description, pointerJoin(pointer, 'description'));
    return {
      required: optionalBoolean(b.required, pointerJoin(pointer, 'required')),
      ...(description !== undefined ? { description } : {}),
      contents: this.contents(b.content, pointerJoin(pointer, 'content')),
    };
  }

  private responses(raw: Json | undefined, at: string): IrResponse[] {
    if (raw === undefined) {
      if (this.version.startsWith('3.0')) throw new SpecError(at, 'an operation needs at least one response in OpenAPI 3.0');
      return [];
    }
    const responses = expectObject(raw, at, 'responses');
    return Object.entries(responses).filter(([k]) => !k.startsWith('x-')).map(([status, r]) => {
      const statusAt = pointerJoin(at, status);
      if (!/^([1-5](\d\d|XX)|default)$/.test(status)) throw new SpecError(statusAt, `"${status}" is not a status code, a range like 4XX, or default`);
      const { node, pointer } = this.doc.deref(r, statusAt);
      const res = expectObject(node, pointer, 'a response');
      const headers = isObject(res.headers) ? res.headers : {};
      return {
        status,
        description: optionalString(res.description, pointerJoin(pointer, 'description')) ?? '',
        contents: this.contents(res.content, pointerJoin(pointer, 'content')),
        headers: Object.entries(headers).map(([name, h]) => {
          const { node: hn, pointer: hp } = this.doc.deref(h, pointerJoin(pointer, 'headers', name));
          const header = expectObject(hn, hp, 'a header');
          return { name, required: optionalBoolean(header.required, pointerJoin(hp, 'required')), schema: this.schemas.normalise(header.schema, pointerJoin(hp, 'schema')) };
        }),
      };
    });
  }

  private contents(raw: Json | undefined, at: string): IrMediaBody[] {
    if (raw === undefined) return [];
    const content = expectObject(raw, at, 'content');
    const list = Object.entries(content).map(([contentType, m]) => {
      const mediaAt = pointerJoin(at, contentType);
      const media = expectObject(m ?? {}, mediaAt, 'a media type');
      const encoding = encodingOf(media.encoding);
      return {
        contentType, schema: this.schemas.normalise(media.schema, pointerJoin(mediaAt, 'schema')), examples: this.examples(media, mediaAt),
        ...(encoding ? { encoding } : {}),
      };
    });
    return [...list.filter((m) => isJson(m.contentType)), ...list.filter((m) => !isJson(m.contentType))];
  }

  private examples(media: JsonObject, at: string): unknown[] {
    const out: unknown[] = [];
    if (media.example !== undefined) out.push(media.example);
    if (isObject(media.examples)) {
      for (const [name, ex] of Object.entries(media.examples)) {
        const { node } = this.doc.deref(ex, pointerJoin(at, 'examples', name));
        if (isObject(node) && 'value' in node) out.push(node.value);
      }
    }
    return out;
  }

  private checkAsyncJobs(ops: IrOperation[]): void {
    const ids = new Set(ops.map((o) => o.operationId));
    for (const op of ops) {
      if (op.asyncJob && !ids.has(op.asyncJob.poll)) {
        throw new SpecError(pointerJoin(op.pointer, 'x-async-job', 'poll'), `no operation has the operationId "${op.asyncJob.poll}"`);
      }
    }
  }

  /** Declared tags first (in spec order), then undeclared ones by first use; only tags with operations. */
  private tagInfo(ops: IrOperation[]): IrTag[] {
    const declared = Array.isArray(this.root.tags) ? this.root.tags.filter(isObject) : [];
    const used = new Set(ops.map((o) => o.tag));
    const order = [...declared.map((t) => String(t.name)).filter((n) => used.has(n)), ...used];
    // Tag identifiers are only ever property keys (`handlers.default`), so reserved words are fine.
    const idNames = new NameAllocator();
    const typeNames = new NameAllocator();
    return [...new Set(order)].map((name) => {
      const d = declared.find((t) => t.name === name);
      return {
        name,
        identifier: idNames.take(toIdentifier(name, { allowReserved: true })),
        typeName: typeNames.take(toPascal(name)),
        ...(d && typeof d.description === 'string' ? { description: d.description } : {}),
      };
    });
  }
}

/** The parts of a media type's `encoding` map form bodies use; anything else in it is ignored. */
function encodingOf(raw: Json | undefined): IrEncoding | undefined {
  if (!isObject(raw)) return undefined;
  const out: IrEncoding = {};
  for (const [name, e] of Object.entries(raw)) {
    if (!isObject(e)) continue;
    const entry: IrEncoding[string] = {};
    if (typeof e.style === 'string') entry.style = e.style;
    if (typeof e.explode === 'boolean') entry.explode = e.explode;
    if (typeof e.contentType === 'string') entry.contentType = e.contentType;
    Object.defineProperty(out, name, { value: entry, enumerable: true, writable: true, configurable: true });
  }
  return Object.keys(out).length ? out : undefined;
}

function isJson(contentType: string): boolean {
  return /^application\/([\w.+-]+\+)?json\b/i.test(contentType.trim());
}

/** Path-level then operation-level, operation wins; every `{name}` in the path gets a parameter. */
function mergeParameters(shared: IrParameter[], own: IrParameter[], path: string): IrParameter[] {
  const byKey = new Map<string, IrParameter>();
  for (const p of [...shared, ...own]) byKey.set(`${p.in}:${p.in === 'header' ? p.name.toLowerCase() : p.name}`, p);
  for (const m of path.matchAll(/\{([^}]+)\}/g)) {
    const name = m[1]!;
    if (!byKey.has(`path:${name}`)) {
      // Real specs forget these; the value still arrives, as a string.
      byKey.set(`path:${name}`, { name, in: 'path', required: true, schema: { type: 'string' }, style: 'simple', explode: false, pointer: '' });
    }
  }
  return [...byKey.values()].sort(
    (a, b) => LOCATIONS.indexOf(a.in) - LOCATIONS.indexOf(b.in) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

function asyncJob(raw: Json, at: string): IrAsyncJob {
  const j = expectObject(raw, at, 'x-async-job');
  const poll = optionalString(j.poll, pointerJoin(at, 'poll'));
  if (!poll) throw new SpecError(pointerJoin(at, 'poll'), 'names the operationId that polls the job');
  const args: Record<string, string> = {};
  if (j.args !== undefined) {
    for (const [k, v] of Object.entries(expectObject(j.args, pointerJoin(at, 'args'), 'args'))) {
      if (typeof v !== 'string') throw new SpecError(pointerJoin(at, 'args', k), 'must be a string (a field of the response body)');
      args[k] = v;
    }
  }
  return {
    poll,
    args,
    statusField: optionalString(j.status_field, pointerJoin(at, 'status_field')) ?? 'status',
    terminal: stringArray(j.terminal, pointerJoin(at, 'terminal')),
  };
}

function sdkUpload(raw: Json, at: string): IrSdkUpload {
  const u = expectObject(raw, at, 'x-sdk-upload');
  const method = optionalString(u.method, pointerJoin(at, 'method'));
  if (!method || !/^[a-z][a-z0-9_]*$/.test(method)) throw new SpecError(pointerJoin(at, 'method'), 'names the helper, in snake_case');
  const send = optionalString(u.send, pointerJoin(at, 'send'));
  if (!send) throw new SpecError(pointerJoin(at, 'send'), 'names the operationId that receives the file');
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(expectObject(u.args ?? {}, pointerJoin(at, 'args'), 'args'))) {
    if (typeof v !== 'string') throw new SpecError(pointerJoin(at, 'args', k), 'must be a string (a field of the slot)');
    args[k] = v;
  }
  const size = optionalString(u.size, pointerJoin(at, 'size')) ?? null;
  return { method, send, size, filename: optionalString(u.filename, pointerJoin(at, 'filename')) ?? null, args };
}

function mcpTools(raw: Json, at: string, fallbackDescription: string): IrMcpTool[] {
  const m = expectObject(raw, at, 'x-mcp');
  if (!Array.isArray(m.tools)) throw new SpecError(pointerJoin(at, 'tools'), 'must be an array of tools');
  return m.tools.map((t, i) => {
    const tAt = pointerJoin(at, 'tools', i);
    const tool = expectObject(t, tAt, 'a tool');
    const name = optionalString(tool.name, pointerJoin(tAt, 'name'));
    if (!name) throw new SpecError(pointerJoin(tAt, 'name'), 'a tool needs a name');
    const annotations: IrMcpTool['annotations'] = {};
    if (tool.annotations !== undefined) {
      const a = expectObject(tool.annotations, pointerJoin(tAt, 'annotations'), 'annotations');
      for (const key of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
        if (a[key] !== undefined) annotations[key] = optionalBoolean(a[key], pointerJoin(tAt, 'annotations', key));
      }
    }
    return {
      name,
      description: optionalString(tool.description, pointerJoin(tAt, 'description')) ?? fallbackDescription,
      annotations,
      exclude: stringArray(tool.exclude, pointerJoin(tAt, 'exclude')),
      require: stringArray(tool.require, pointerJoin(tAt, 'require')),
      defaults: tool.defaults === undefined ? {} : { ...expectObject(tool.defaults, pointerJoin(tAt, 'defaults'), 'defaults') },
    };
  });
}
