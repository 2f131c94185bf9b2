/**
 * sdk.gen.ts + sdk-runtime*.gen.ts: a typed client. The runtime (generator/templates/sdk-runtime/)
 * is copied verbatim, one generated file per template file; this emitter writes what is specific to the spec: per operation a flattened
 * params type, a response type and a descriptor, one class per tag with a method per operation
 * (paginated lists return a PagePromise, async jobs get a `waitFor<Op>` helper), and the client class.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { IrDocument, IrOperation, IrTag } from '../ir-types.js';
import { NameAllocator, propertyKey, toPascal } from '../names.js';
import { docComment, tsType } from '../schema/ts.js';
import type { SchemaEnv } from '../schema/walker.js';
import { type ArgumentPlan, objectView, planArguments, responseKeys } from '../shared/arguments.js';
import { type SdkScheme, type SdkSecurity, sdkSecurity } from '../shared/sdk-security.js';
import type { EmitContext, Emitter } from '../shared/emitter.js';
import { ERROR_CODE_SCHEMA, errorCodes } from '../shared/error-codes.js';
import { renderSdkApiDoc, type SdkMethodDoc, type SdkSurface } from '../shared/sdk-api-doc.js';
import { baseErrorName, camel, clientClassName, methodNames, renameBaseError, TEMPLATE_BASE_ERROR, words } from '../shared/sdk-names.js';
import { sdkFormEncoding } from '../form-plan.js';
import { entryValue, isBinaryContent, RawCode, respondsJson, schemaEnv, str, successResponses, tsLiteral } from '../shared/source.js';

const TEMPLATE_DIR = new URL('../templates/sdk-runtime/', import.meta.url);
/** The runtime's entry point: templates/sdk-runtime/index.ts, re-exporting the public parts. */
const RUNTIME_FILE = 'sdk-runtime.gen.ts';
/** Every method and type, in Markdown (the SDK package ships it as api.md). */
const API_DOC_FILE = 'sdk-api.gen.md';

interface RuntimeFile {
  /** Template file name: `client.ts`. */
  template: string;
  /** Generated file name: `sdk-runtime-client.gen.ts` (`sdk-runtime.gen.ts` for index.ts). */
  file: string;
  text: string;
}

/** `./client.js` in a template names its sibling: `sdk-runtime-client.gen.ts` once generated. */
function runtimeFileName(template: string): string {
  return template === 'index.ts' ? RUNTIME_FILE : `sdk-runtime-${template.replace(/\.ts$/, '')}.gen.ts`;
}

/**
 * The runtime templates as generated files: sibling imports renamed, and the base error class
 * named for the API (`baseErrorFor` gets the runtime's other exported names, to avoid them).
 */
async function readRuntime(ctx: EmitContext, baseErrorFor: (taken: string[]) => string): Promise<{ files: RuntimeFile[]; baseError: string }> {
  const templates = (await readdir(TEMPLATE_DIR)).filter((f) => f.endsWith('.ts')).sort();
  const sources = await Promise.all(templates.map(async (template) => {
    const source = (await readFile(new URL(template, TEMPLATE_DIR), 'utf8')).replace(/\r\n/g, '\n');
    const text = source.replace(/from '\.\/([\w-]+)\.js'/g, (_m, name: string) => `from ${str(ctx.sibling(runtimeFileName(`${name}.ts`)))}`);
    return { template, file: runtimeFileName(template), text };
  }));
  const baseError = baseErrorFor(runtimeExports(sources).filter((n) => n !== TEMPLATE_BASE_ERROR));
  return { files: sources.map((f) => ({ ...f, text: ctx.banner(f.file) + renameBaseError(f.text, baseError) })), baseError };
}

export interface SdkEmitterOptions {
  /** Name of the client class; default: from info.title (`Lavendly API` -> `Lavendly`). */
  clientName?: string;
  /** Name of the base error class; default: the client's name + `Error` (`LavendlyError`). */
  baseErrorName?: string;
}

export function createSdkEmitter(options: SdkEmitterOptions = {}): Emitter {
  return {
    name: 'sdk',
    file: 'sdk.gen.ts',
    async emit(ir, ctx) {
      const client = options.clientName ?? clientClassName(ir.title);
      const runtime = await readRuntime(ctx, (taken) => options.baseErrorName ?? baseErrorName(client, taken));
      const { text, surface } = emitSdk(ir, ctx, runtimeExports(runtime.files), runtime.baseError, options);
      return [
        { file: 'sdk.gen.ts', text },
        ...runtime.files.map(({ file, text }) => ({ file, text })),
        { file: API_DOC_FILE, text: renderSdkApiDoc(surface, ctx.banner(API_DOC_FILE)) },
      ];
    },
  };
}

export const emitter: Emitter = createSdkEmitter();

/**
 * Names the runtime's entry point exports (re-exported from sdk.gen.ts): generated names must
 * avoid them. index.ts re-exports whole files (`export * from './x.js'`) or picked names.
 */
function runtimeExports(runtime: RuntimeFile[]): string[] {
  const declared = (text: string) =>
    [...text.matchAll(/^export (?:declare )?(?:abstract )?(?:async )?(?:class|function|type|interface|const|let) ([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]!);
  const index = runtime.find((f) => f.template === 'index.ts')!.text;
  const names: string[] = [];
  // `export type { ... }` too: a generated type named like one (UploadBody, Download) would clash.
  for (const m of index.matchAll(/^export (?:type )?(\*|\{([^}]*)\}) from '[^']*sdk-runtime-([\w-]+)\.gen(?:\.js|\.ts)?'/gm)) {
    if (m[1] === '*') names.push(...declared(runtime.find((f) => f.template === `${m[3]}.ts`)?.text ?? ''));
    else names.push(...m[2]!.split(',').map((n) => n.trim().replace(/^type\s+/, '')).filter(Boolean));
  }
  return names;
}

interface OpNames {
  params: string;
  response: string;
}

function emitSdk(ir: IrDocument, ctx: EmitContext, runtimeNames: string[], baseError: string, options: SdkEmitterOptions): { text: string; surface: SdkSurface } {
  const env = schemaEnv(ir);
  const names = new NameAllocator(['T', 'verifyWebhook', ...runtimeNames]);
  const reexported = ir.schemas.map((s) => s.identifier).filter((n) => !runtimeNames.includes(n) && n !== 'T');
  reexported.forEach((n) => names.reserve(n));
  const clientName = names.take(options.clientName ?? clientClassName(ir.title));
  const opsInterface = names.take(`${clientName}Operations`);
  const opNames = new Map<IrOperation, OpNames>();
  for (const op of ir.operations) {
    opNames.set(op, { params: names.take(`${op.typeName}Params`), response: names.take(`${op.typeName}Response`) });
  }
  const plans = new Map(ir.operations.map((op) => [op, planArguments(op, env, 'sdk')]));
  const security = sdkSecurity(ir);
  const out: string[] = [];
  const runtimeSpec = str(ctx.sibling(RUNTIME_FILE));
  out.push(`export * from ${runtimeSpec};`);
  if (reexported.length) {
    out.push(`export type {\n${reexported.map((n) => `  ${n},`).join('\n')}\n} from ${str(ctx.sibling('types.gen.ts'))};`);
  }
  out.push('');

  // Per operation: params and response types.
  for (const op of ir.operations) {
    const n = opNames.get(op)!;
    const plan = plans.get(op)!;
    out.push(docComment(`${op.method.toUpperCase()} ${op.path}${op.summary ? `: ${op.summary}` : ''}`, op.deprecated).trimEnd());
    out.push(`export type ${n.params} = ${paramsType(op, plan, env)};`);
    out.push(`export type ${n.response} = ${responseType(op, env)};`);
    out.push('');
  }

  // The descriptor table and the type map.
  // One entry per line, each typed by `descriptorOf`: an operationId such as `constructor` would
  // otherwise take its contextual type from Object.prototype, and `__proto__` is a computed key.
  if (ir.operations.length) out.push('const descriptorOf = (d: OperationDescriptor): OperationDescriptor => d;'); // unused otherwise (noUnusedLocals)
  const sharedKeys = sharedResponseKeys(ir.operations, env);
  for (const [keys, name] of sharedKeys) out.push(`const ${name}: readonly string[] = ${tsLiteral(JSON.parse(keys))};`);
  out.push('export const operationDescriptors: { [operationId: string]: OperationDescriptor } = {');
  for (const op of ir.operations) {
    const key = op.operationId === '__proto__' ? `['__proto__']` : propertyKey(op.operationId);
    out.push(`  ${key}: descriptorOf(${tsLiteral(descriptor(op, plans.get(op)!, env, sharedKeys, security), '  ')}),`);
  }
  out.push('};', '');
  out.push(`/** operationId -> flattened params and success body, for the generic \`call\` / \`request\`. */`);
  out.push(`export interface ${opsInterface} {`);
  for (const op of ir.operations) {
    const n = opNames.get(op)!;
    out.push(`  ${propertyKey(op.operationId)}: { params: ${n.params}; response: ${n.response} };`);
  }
  out.push('}', '');

  // One class per tag.
  const groupProps = new NameAllocator(['constructor', 'baseUrl', 'operation', 'request', 'call', 'paginate', 'waitForJob', 'requestWithResponse', 'uploadViaSlot']);
  const groups: { prop: string; cls: string; tag: IrTag; methods: SdkMethodDoc[] }[] = [];
  for (const tag of ir.tagInfo) {
    const ops = ir.operations.filter((o) => o.tag === tag.name);
    if (!ops.length) continue;
    const cls = names.take(`${tag.typeName}Api`);
    const prop = groupProps.take(camel(words(tag.name)) || tag.identifier);
    const methodDocs: SdkMethodDoc[] = [];
    groups.push({ prop, cls, tag, methods: methodDocs });
    out.push(docComment(tag.description ?? `Operations tagged "${tag.name}".`).trimEnd());
    out.push(`export class ${cls} {`);
    out.push(`  readonly #client: ApiClient<${opsInterface}>;`);
    out.push(`  constructor(client: ApiClient<${opsInterface}>) {`, '    this.#client = client;', '  }');
    const methods = methodNames(ops, tag);
    const taken = new NameAllocator(['constructor', ...methods.values()]);
    for (const op of ops) out.push('', ...methodSource(op, methods.get(op)!, opNames, plans.get(op)!, env, ir, taken, methodDocs));
    for (const op of ops) if (op.sdkUpload) out.push('', ...uploadHelperSource(op, methods.get(op)!, opNames, plans, ir, taken, methodDocs));
    out.push('}', '');
  }

  // The error class per declared code: exhaustive over the spec's ErrorCode union.
  const errorTable = errorClassTable(ir, runtimeNames, baseError);
  if (errorTable) out.push(...errorTable.lines(names.take('errorClassByCode')));

  // The client.
  const envPrefix = clientName.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  out.push(
    docComment(
      `${ir.title || clientName} client.\n\n\`new ${clientName}({ apiKey, ${security ? 'credentials, ' : ''}baseUrl, timeout, maxRetries, fetch })\`; apiKey and baseUrl default to the ` +
        `${envPrefix}_API_KEY and ${envPrefix}_BASE_URL environment variables, baseUrl then to ${ir.serverUrl || 'the spec\'s server'}.`,
    ).trimEnd(),
  );
  const auth = security ? credentialsSource(security, names.take(`${clientName}Credentials`), names.take(`${clientName}Options`), names.take('securitySchemes')) : null;
  if (auth) out.splice(out.length - 1, 0, ...auth.lines);
  out.push(`export class ${clientName} extends ApiClient<${opsInterface}> {`);
  for (const g of groups) out.push(`  readonly ${g.prop}: ${g.cls};`);
  out.push(`  constructor(options: ${auth?.options ?? 'ClientOptions'} = {}) {`);
  const authDefaults = auth ? `, securitySchemes${auth.table === 'securitySchemes' ? '' : `: ${auth.table}`}, security: ${tsLiteral(ir.security)}` : '';
  out.push(
    `    super(operationDescriptors, options, { name: ${str(clientName)}, version: ${str(ir.version)}, baseUrl: ${str(ir.serverUrl)}, envPrefix: ${str(envPrefix)}${errorTable ? `, errorClasses: ${errorTable.name}` : ''}${authDefaults} });`,
  );
  for (const g of groups) out.push(`    this.${g.prop} = new ${g.cls}(this);`);
  out.push('  }', '}', '');
  const webhookUnion = names.take('WebhookEvent');
  const webhookEvents = webhookTypes(ir, env);
  out.push(...webhookSource(webhookEvents, webhookUnion));
  const body = out.join('\n');
  // Import only what the body uses (consumers may compile with noUnusedLocals).
  const used = [baseError, 'BasicCredentials', 'SecurityScheme', 'NoBody', 'OperationDescriptor', 'PageItem', 'PagePromise', 'Renamed', 'RequestOptions', 'UploadBody', 'WaitOptions'].filter((n) =>
    new RegExp(`\\b${n}\\b`).test(body),
  );
  const imports = [ctx.banner('sdk.gen.ts')];
  if (/\bT\./.test(body)) imports.push(`import type * as T from ${str(ctx.sibling('types.gen.ts'))};`);
  const classes = errorTable?.classes ?? [];
  const runtimeImports = ['ApiClient', 'type ClientOptions', ...classes, ...used.filter((n) => !classes.includes(n)).map((n) => `type ${n}`)];
  imports.push(`import { ${runtimeImports.join(', ')} } from ${runtimeSpec};`);
  const webhookImports = ['verifyWebhook as verifySignedWebhook', 'type VerifyWebhookOptions', 'type WebhookHeaders'];
  imports.push(`import { ${webhookImports.join(', ')} } from ${str(ctx.sibling(runtimeFileName('webhooks.ts')))};`);
  const surface: SdkSurface = {
    title: ir.title,
    clientName,
    envPrefix,
    serverUrl: ir.serverUrl,
    groups: groups.map((g) => ({ prop: g.prop, tag: g.tag.name, ...(g.tag.description ? { description: g.tag.description } : {}), methods: g.methods })),
    schemaTypes: reexported,
    operationTypes: ir.operations.map((op) => ({ operationId: op.operationId, ...opNames.get(op)! })),
    webhookUnion,
    webhookEvents: webhookEvents.map((e) => ({ ...e, type: e.type.replace(/\bT\./g, '') })),
    runtimeExports: runtimeNames,
    ...(security && auth
      ? {
          credentials: {
            type: auth.credentials,
            schemes: [...security.schemes].map(([name, scheme]) => ({ name, value: scheme.type === 'basic' ? '{ username, password }' : 'string', sentAs: sentAs(scheme) })),
          },
        }
      : {}),
  };
  return { text: `${imports.join('\n')}\n\n${body}`, surface };
}

/**
 * For a spec with other schemes than Bearer: the `credentials` type (one optional entry per
 * scheme, a string or BasicCredentials), the client's options type taking it, and the scheme table
 * the runtime sends them by.
 */
function credentialsSource(security: SdkSecurity, credentials: string, options: string, table: string) {
  const lines = [
    docComment('Credentials by security scheme of the spec; each goes only to the operations that require its scheme. A bearer scheme defaults to `apiKey`.').trimEnd(),
    `export type ${credentials} = {`,
  ];
  for (const [name, scheme] of security.schemes) {
    lines.push(`  /** ${sentAs(scheme).replace(/\*\//g, '*\\/')}. */`, `  readonly ${propertyKey(name)}?: ${scheme.type === 'basic' ? 'BasicCredentials' : 'string'};`);
  }
  lines.push('};');
  lines.push(`export type ${options} = Omit<ClientOptions, 'credentials'> & { credentials?: ${credentials} };`);
  const entries = [...security.schemes].map(([name, scheme]) => `  ${propertyKey(name)}: ${entryValue(name, scheme, '  ')},`);
  lines.push(`const ${table}: { [name: string]: SecurityScheme } = {`, ...entries, '};', '');
  return { lines, options, table, credentials };
}

/** How a scheme's credential travels, in words (doc comments, sdk-api.gen.md). */
function sentAs(scheme: SdkScheme): string {
  if (scheme.type === 'apiKey') return `API key in the ${scheme.in} \`${scheme.name}\``;
  return scheme.type === 'basic' ? 'HTTP Basic, `Authorization: Basic base64(username:password)`' : '`Authorization: Bearer <token>`';
}

/** The SDK runtime's class for an HTTP status (mirrors its errorClassByStatus). */
function classForStatus(status: number, baseError: string): string {
  if (status === 400 || status === 422) return 'ValidationError';
  const byStatus: Record<number, string> = {
    401: 'AuthenticationError',
    402: 'InsufficientCreditsError',
    403: 'PermissionError',
    404: 'NotFoundError',
    409: 'ConflictError',
    429: 'RateLimitError',
  };
  return byStatus[status] ?? (status >= 500 ? 'ServerError' : baseError);
}

/**
 * `errorClassByCode`, from the spec's ErrorCode schema (`x-sdk-error` overrides the status's
 * class): `satisfies Record<ErrorCode, ...>`, so the table and the union cannot drift apart.
 */
function errorClassTable(ir: IrDocument, runtimeNames: string[], baseError: string) {
  const codes = errorCodes(ir);
  const component = ir.schemas.find((s) => s.name === ERROR_CODE_SCHEMA);
  if (!codes.length || !component) return null;
  const entries = codes.map((c) => {
    const cls = c.sdkError === TEMPLATE_BASE_ERROR ? baseError : (c.sdkError ?? classForStatus(c.status, baseError));
    if (!runtimeNames.includes(cls)) throw new Error(`#/components/schemas/${ERROR_CODE_SCHEMA} (${c.code}): x-sdk-error '${cls}' is not an error class of the SDK runtime`);
    return [c.code, cls] as const;
  });
  const classes = [...new Set(entries.map(([, cls]) => cls))].sort();
  let name = '';
  return {
    classes,
    get name() {
      return name;
    },
    lines(taken: string): string[] {
      name = taken;
      return [
        '/** The error class thrown for each code the API declares (by HTTP status for any other code). */',
        `export const ${taken} = {`,
        ...entries.map(([code, cls]) => `  ${propertyKey(code)}: ${cls},`),
        `} satisfies Record<T.${component.identifier}, typeof ${baseError}>;`,
        '',
      ];
    },
  };
}

/**
 * The union of the bodies the spec's `webhooks` send (`unknown` without any), and `verifyWebhook`
 * resolving to it: a receiver narrows on `event.type`.
 */
function webhookTypes(ir: IrDocument, env: SchemaEnv): { name: string; type: string; summary?: string }[] {
  return ir.webhooks.flatMap((hook) => {
    const content = hook.body?.contents[0];
    if (!content) return [];
    const summary = hook.summary ?? hook.description;
    return [{ name: hook.name, type: tsType(content.schema, env, { refPrefix: 'T.', binary: 'blob' }), ...(summary ? { summary } : {}) }];
  });
}

function webhookSource(events: { name: string; type: string }[], unionName: string): string[] {
  const types = new Set(events.map((e) => e.type));
  const names = events.map((e) => e.name);
  const union = types.size ? [...types].map((t) => (types.size > 1 && /[|&]/.test(t) && !t.startsWith('{') ? `(${t})` : t)).join(' | ') : 'unknown';
  const about = names.length ? `One of the events the API sends: ${names.map((n) => `\`${n}\``).join(', ')}.` : 'The spec declares no `webhooks`.';
  return [
    docComment(`The body of a webhook delivery. ${about}`).trimEnd(),
    `export type ${unionName} = ${union};`,
    '',
    docComment(
      'Verifies a webhook delivery (Standard Webhooks signature, timestamp within `toleranceSeconds`, default 300) ' +
        'and resolves to its parsed body. Pass the raw body exactly as received and the endpoint\'s `whsec_...` secret. ' +
        'Rejects with WebhookVerificationError otherwise.',
    ).trimEnd(),
    'export function verifyWebhook(',
    '  payload: string | Uint8Array,',
    '  headers: WebhookHeaders,',
    '  secret: string | Uint8Array,',
    '  options?: VerifyWebhookOptions,',
    `): Promise<${unionName}> {`,
    `  return verifySignedWebhook<${unionName}>(payload, headers, secret, options);`,
    '}',
    '',
  ];
}

function indentText(text: string, by: string): string {
  return text.replace(/\n(?!\n)/g, `\n${by}`);
}

function paramsType(op: IrOperation, plan: ArgumentPlan, env: SchemaEnv): string {
  const props = plan.args
    .filter((a) => a.in !== 'body')
    .map((a) => `${docComment(a.description)}${propertyKey(a.arg)}${a.required ? '' : '?'}: ${tsType(a.schema, env, { refPrefix: 'T.', binary: 'blob' })};`);
  const body = plan.body;
  if (body.mode === 'single') {
    const type = bodyType(op, env);
    props.push(`${propertyKey(body.arg)}${body.required ? '' : '?'}: ${type};`);
  }
  const parts: string[] = [];
  if (props.length) parts.push(`{\n  ${indentText(props.join('\n'), '  ')}\n}`);
  if (body.mode === 'flat') {
    let type = bodyType(op, env);
    if (/[|&]/.test(type) && !/^[\w.]+$/.test(type)) type = `(${type})`;
    const renames = Object.entries(body.renamed).map(([from, to]) => `${propertyKey(from)}: ${str(to)}`);
    if (renames.length) type = `Renamed<${type}, { ${renames.join('; ')} }>`;
    // An optional body with required fields: either give a valid body or none of its fields.
    const someRequired = (objectView(body.schema, env)?.required.length ?? 0) > 0;
    parts.push(body.required || !someRequired ? type : `(${type} | NoBody<${type}>)`);
  }
  return parts.length ? parts.join(' & ') : '{ [key: string]: never }';
}

function bodyType(op: IrOperation, env: SchemaEnv): string {
  const content = op.requestBody?.contents[0];
  if (!content) return 'unknown';
  if (isBinaryContent(content)) return 'UploadBody';
  return tsType(content.schema, env, { refPrefix: 'T.', binary: 'blob' });
}

function responseType(op: IrOperation, env: SchemaEnv): string {
  const types = new Set<string>();
  const responses = successResponses(op);
  if (!responses.length) return 'unknown';
  for (const r of responses) {
    const c = r.contents[0];
    if (!c) types.add('undefined');
    else if (/^text\//i.test(c.contentType)) types.add('string');
    else if (isBinaryContent(c) || !/json/i.test(c.contentType)) types.add('Blob');
    else types.add(tsType(c.schema, env, { refPrefix: 'T.', binary: 'blob' }));
  }
  if (types.size === 1 && types.has('undefined')) return 'void';
  return [...types].map((t) => (types.size > 1 && /[|&]/.test(t) && !t.startsWith('{') ? `(${t})` : t)).join(' | ');
}

/**
 * The `responseKeys` lists that several operations share (every operation answering a Workflow
 * has the same), each written once as a const the descriptors name: the browser bundle carries
 * each list once. JSON of the list -> the const's name.
 */
function sharedResponseKeys(operations: readonly IrOperation[], env: SchemaEnv): Map<string, string> {
  const uses = new Map<string, number>();
  for (const op of operations) {
    const keys = responseKeys(op, env);
    if (keys) uses.set(JSON.stringify(keys), (uses.get(JSON.stringify(keys)) ?? 0) + 1);
  }
  const shared = new Map<string, string>();
  for (const [keys, count] of uses) if (count > 1) shared.set(keys, `responseKeys${shared.size + 1}`);
  return shared;
}

function descriptor(op: IrOperation, plan: ArgumentPlan, env: SchemaEnv, sharedKeys: Map<string, string>, security: SdkSecurity | null): Record<string, unknown> {
  // No prototype: an argument named `__proto__` must be an entry, not the object's prototype.
  const args = Object.create(null) as Record<string, unknown>;
  for (const a of plan.args) {
    // Flat body properties travel by name; only renamed ones need an entry.
    if (a.in === 'body' && (plan.body.mode !== 'single' ? a.arg === a.name : false)) continue;
    // `as const`: under a key like `constructor` the literal gets no contextual type and would widen.
    args[a.arg] = { in: new RawCode(`${str(a.in)} as const`), name: a.name, ...(a.explode === false ? { explode: false } : {}) };
  }
  const b = plan.body;
  const keys = responseKeys(op, env);
  const first = op.requestBody?.contents[0];
  const formEncoding = b.mode !== 'none' && first?.contentType === b.contentType ? sdkFormEncoding(b.contentType, first.encoding) : null;
  return {
    method: op.method,
    path: op.path,
    ...(security ? { security: op.security } : {}),
    args,
    bodyMode: b.mode,
    ...(b.mode === 'single' ? { bodyArg: b.arg } : {}),
    bodyRequired: b.mode === 'none' ? false : b.required,
    contentType: b.mode === 'none' ? null : b.contentType,
    ...(formEncoding ? { formEncoding } : {}),
    idempotencyHeader: plan.idempotencyHeader,
    pagination: op.pagination,
    asyncJob: op.asyncJob
      ? { poll: op.asyncJob.poll, args: op.asyncJob.args, statusField: op.asyncJob.statusField, terminal: op.asyncJob.terminal }
      : null,
    responseJson: respondsJson(op),
    ...(keys ? { responseKeys: sharedKeys.has(JSON.stringify(keys)) ? new RawCode(sharedKeys.get(JSON.stringify(keys))!) : keys } : {}),
  };
}

/**
 * `x-sdk-upload`: a method that opens the slot with `op` and sends a file to it (the runtime's
 * `uploadViaSlot`), so a caller never picks the slot's URL apart.
 */
function uploadHelperSource(
  op: IrOperation,
  openName: string,
  opNames: Map<IrOperation, OpNames>,
  plans: Map<IrOperation, ArgumentPlan>,
  ir: IrDocument,
  taken: NameAllocator,
  docs: SdkMethodDoc[],
): string[] {
  const upload = op.sdkUpload!;
  const where = `${op.pointer}/x-sdk-upload`;
  const send = ir.operations.find((o) => o.operationId === upload.send);
  const sendBody = send ? plans.get(send)!.body : undefined;
  if (!send || sendBody?.mode !== 'single') throw new Error(`${where}: send '${upload.send}' is not an operation whose body is one argument (a file)`);
  const sendArgs = new Set(plans.get(send)!.args.map((a) => a.arg));
  for (const arg of Object.keys(upload.args)) if (!sendArgs.has(arg)) throw new Error(`${where}: '${upload.send}' has no argument '${arg}'`);
  const name = taken.take(camel(upload.method.split('_')));
  const params = opNames.get(op)!.params;
  const response = opNames.get(send)!.response;
  const spec = { send: upload.send, size: upload.size, filename: upload.filename, args: upload.args, bodyArg: sendBody.arg };
  const sizeNote = upload.size ? ` Its size (a Blob's, or \`params.${upload.size}\` for a stream) is declared up front, so an oversized file fails before it is sent.` : '';
  const text =
    `Opens a slot with \`${openName}\` and sends \`file\` to it with \`${upload.send}\`; resolves to what that answers.${sizeNote}\n\n` +
    'A Blob (a File, or `await fs.openAsBlob(path)` in Node) or a ReadableStream is read as it is sent, never held in memory whole.';
  docs.push({ name, parameters: `(file: UploadBody, params: ${params}, options?: RequestOptions)`, returns: `Promise<${response}>`, http: `${op.operationId} + ${upload.send}`, summary: text.split('\n')[0]! });
  return [
    ...docComment(text).trimEnd().split('\n').map((l) => `  ${l}`),
    `  ${name}(file: UploadBody, params: ${params}, options?: RequestOptions): Promise<${response}> {`,
    `    return this.#client.uploadViaSlot(${str(op.operationId)}, ${tsLiteral(spec, '    ')}, file, params, options) as Promise<${response}>;`,
    '  }',
  ];
}

function paramsRequired(plan: ArgumentPlan, env: SchemaEnv): boolean {
  if (plan.args.some((a) => a.in !== 'body' && a.required)) return true;
  const b = plan.body;
  if (b.mode === 'single') return b.required;
  if (b.mode === 'flat') return b.required && (objectView(b.schema, env)?.required.length ?? 0) > 0;
  return false;
}

function methodSource(
  op: IrOperation,
  name: string,
  opNames: Map<IrOperation, OpNames>,
  plan: ArgumentPlan,
  env: SchemaEnv,
  ir: IrDocument,
  taken: NameAllocator,
  docs: SdkMethodDoc[],
): string[] {
  const n = opNames.get(op)!;
  const notes: string[] = [];
  if (op.summary) notes.push(op.summary);
  if (op.description && op.description.trim() !== op.summary?.trim()) notes.push(op.description.trim());
  if (plan.idempotencyHeader) notes.push('Idempotent: one key (yours via `options.idempotencyKey`, or a generated one) is reused on every retry.');
  if (op.pagination) notes.push('`await` it for the first page, or `for await` over it for every item of every page.');
  const waitName = op.asyncJob ? taken.take(`waitFor${toPascal(op.operationId)}`) : null;
  if (waitName) notes.push(`Returns a job: \`${waitName}(job)\` polls it until it is finished.`);
  notes.push(`@see ${op.method.toUpperCase()} ${op.path}`);
  const doc = (text: string, deprecated = false) => docComment(text, deprecated).trimEnd().split('\n').map((l) => `  ${l}`);
  const lines = doc(notes.join('\n\n'), op.deprecated);
  // `{} as X`: a bare `{}` is not assignable when a parameter is named like an Object.prototype member.
  const param = paramsRequired(plan, env) ? `params: ${n.params}` : `params: ${n.params} = {} as ${n.params}`;
  const key = str(op.operationId);
  const http = `${op.method.toUpperCase()} ${op.path}`;
  const parameters = `(${paramsRequired(plan, env) ? 'params' : 'params?'}: ${n.params}, options?: RequestOptions)`;
  const summary = op.summary ?? op.description;
  const returns = op.pagination ? `PagePromise<${n.response}>` : `Promise<${n.response}>`;
  docs.push({ name, parameters, returns, http, ...(summary ? { summary } : {}) });
  if (op.pagination) {
    lines.push(`  ${name}(${param}, options?: RequestOptions): PagePromise<${n.response}, PageItem<${n.response}>> {`);
    lines.push(`    return this.#client.paginate(${key}, params, options);`, '  }');
  } else {
    lines.push(`  ${name}(${param}, options?: RequestOptions): Promise<${n.response}> {`);
    lines.push(`    return this.#client.call(${key}, params, options);`, '  }');
  }
  if (op.asyncJob && waitName) {
    const pollOp = ir.operations.find((o) => o.operationId === op.asyncJob!.poll)!;
    const pollResponse = opNames.get(pollOp)!.response;
    const terminal = op.asyncJob.terminal.join(', ');
    lines.push('');
    lines.push(
      ...doc(
        `Polls \`${op.asyncJob.poll}\` for the job returned by \`${name}\` until its ${op.asyncJob.statusField} is terminal (${terminal}), ` +
          'then resolves to the last polled body. Rejects with WaitTimeoutError after `options.timeout` ms (default 10 min).',
      ),
    );
    docs.push({ name: waitName, parameters: `(job: ${n.response}, options?: WaitOptions)`, returns: `Promise<${pollResponse}>`, http: `polls ${op.asyncJob.poll}`, summary: `Polls the job of \`${name}\` until it is one of: ${terminal}.` });
    lines.push(`  ${waitName}(job: ${n.response}, options?: WaitOptions): Promise<${pollResponse}> {`);
    lines.push(`    return this.#client.waitForJob(${key}, job, options) as Promise<${pollResponse}>;`, '  }');
  }
  return lines;
}
