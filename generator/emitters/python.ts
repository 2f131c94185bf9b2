/**
 * The Python SDK: a package (pyproject.toml with setuptools, src/ layout, py.typed) written into
 * `<packages>/python/`. The runtime (generator/templates/python-runtime/*.py: HTTP, retries,
 * pages, job polling, webhooks) is copied verbatim; this emitter writes what is specific to the
 * spec: TypedDicts for the schemas (types.py), one error class per HTTP status and per declared
 * error code (_errors.py), the operation descriptors (_operations.py), blocking and async
 * resource classes per tag (_resources.py) and the two clients (_client.py).
 */
import { readdir, readFile } from 'node:fs/promises';
import type { IrDocument, IrOperation, JsonSchema } from '../ir-types.js';
import { NameAllocator, toPascal } from '../names.js';
import { PY_TYPE_NAMES, PyTypes, pyIdentifier, pyStr, type PyObject } from '../schema/python.js';
import { type SchemaEnv, isObj } from '../schema/walker.js';
import { objectView, responseKeys } from '../shared/arguments.js';
import type { EmitContext, EmittedFile, Emitter } from '../shared/emitter.js';
import { errorCodes } from '../shared/error-codes.js';
import { type PyGroup, type PyMethod, type PyPlan, pythonPlan } from '../shared/python-plan.js';
import { pyCredentialsType, pyDefaultsEntries, pyRequirement } from '../shared/python-security.js';
import { type SdkSecurity, sdkSecurity } from '../shared/sdk-security.js';
import { baseErrorName, renameBaseError, TEMPLATE_BASE_ERROR } from '../shared/sdk-names.js';
import { isBinaryContent, respondsJson, schemaEnv, successResponses } from '../shared/source.js';
import { sdkFormEncoding } from '../form-plan.js';

const TEMPLATE_DIR = new URL('../templates/python-runtime/', import.meta.url);
/** Folder of the package under the packages directory. */
export const PYTHON_PACKAGE_DIR = 'python';
/** What the runtime templates export, re-exported by the package's __init__.py (the base error renamed per API). */
const RUNTIME_EXPORTS: Record<string, string[]> = {
  _auth: ['BasicCredentials'],
  _core: ['NOT_GIVEN', 'NotGiven', 'RequestOptions', 'SyncPager', 'AsyncPager'],
  _exceptions: ['LavendlyError', 'APIStatusError', 'ServerError', 'InvalidResponseError', 'APIConnectionError', 'APITimeoutError', 'WaitTimeoutError', 'WebhookVerificationError'],
  _webhooks: ['verify_signed_webhook', 'sign_webhook'],
  _uploads: ['UploadFile'],
  _downloads: ['DownloadedFile'],
  _download_streams: ['Download', 'AsyncDownload'],
};
/** Python's built-in exception names: a generated error class never shadows one. */
const BUILTIN_EXCEPTIONS = new Set(
  ('ArithmeticError AssertionError AttributeError BlockingIOError BrokenPipeError BufferError ConnectionAbortedError ConnectionError ' +
    'ConnectionRefusedError ConnectionResetError EOFError EnvironmentError FileExistsError FileNotFoundError FloatingPointError ' +
    'IOError ImportError IndentationError IndexError InterruptedError IsADirectoryError KeyError LookupError MemoryError ' +
    'ModuleNotFoundError NameError NotADirectoryError NotImplementedError OSError OverflowError PermissionError ProcessLookupError ' +
    'RecursionError ReferenceError RuntimeError SyntaxError SystemError TabError TimeoutError TypeError UnboundLocalError ' +
    'UnicodeDecodeError UnicodeEncodeError UnicodeError ValueError ZeroDivisionError').split(' '),
);
const REASONS: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 402: 'PaymentRequired', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
  406: 'NotAcceptable', 408: 'RequestTimeout', 409: 'Conflict', 410: 'Gone', 412: 'PreconditionFailed', 413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType', 416: 'RangeNotSatisfiable', 422: 'UnprocessableEntity', 423: 'Locked', 428: 'PreconditionRequired',
  429: 'TooManyRequests', 431: 'RequestHeaderFieldsTooLarge', 500: 'InternalServer', 501: 'NotImplemented', 502: 'BadGateway', 503: 'ServiceUnavailable', 504: 'GatewayTimeout',
};

export const emitter: Emitter = {
  name: 'python',
  file: `${PYTHON_PACKAGE_DIR}/pyproject.toml`,
  async emit(ir, ctx) {
    const plan = pythonPlan(ir);
    const src = `${PYTHON_PACKAGE_DIR}/src/${plan.packageName}`;
    const banner = (file: string, comment = '#') => pyBanner(ctx, file, comment);
    const others = Object.values(RUNTIME_EXPORTS).flat().filter((n) => n !== TEMPLATE_BASE_ERROR);
    const baseError = baseErrorName(plan.clientName, [...others, ...BUILTIN_EXCEPTIONS]);
    const exports = runtimeExports(baseError);
    const types = typesModule(ir, plan);
    const errors = errorsModule(ir, plan, exports);
    const security = sdkSecurity(ir);
    const credentials = security ? `${plan.clientName}Credentials` : null;
    const files: EmittedFile[] = [
      { file: `${PYTHON_PACKAGE_DIR}/pyproject.toml`, text: banner('pyproject.toml') + pyproject(ir, plan) },
      { file: `${src}/py.typed`, text: banner('py.typed') },
      { file: `${src}/__init__.py`, text: banner('__init__.py') + initModule(ir, plan, errors.names, exports, credentials) },
      { file: `${src}/types.py`, text: banner('types.py') + types.text },
      { file: `${src}/_errors.py`, text: banner('_errors.py') + errors.text },
      { file: `${src}/_operations.py`, text: banner('_operations.py') + operationsModule(plan, schemaEnv(ir), security) },
      { file: `${src}/_resources.py`, text: banner('_resources.py') + resourcesModule(plan, types) },
      { file: `${src}/_client.py`, text: banner('_client.py') + clientModule(ir, plan, types.webhookEvent, security && credentials ? { security, name: credentials } : null) },
    ];
    for (const template of (await readdir(TEMPLATE_DIR)).filter((f) => f.endsWith('.py')).sort()) {
      const text = (await readFile(new URL(template, TEMPLATE_DIR), 'utf8')).replace(/\r\n/g, '\n');
      files.push({ file: `${src}/${template}`, text: banner(template) + renameBaseError(text, baseError) });
    }
    return files.map((f) => ({ ...f, root: 'packages' as const }));
  },
};

function runtimeExports(baseError: string): Record<string, string[]> {
  return Object.fromEntries(Object.entries(RUNTIME_EXPORTS).map(([mod, names]) => [mod, names.map((n) => (n === TEMPLATE_BASE_ERROR ? baseError : n))]));
}

function pyBanner(ctx: EmitContext, file: string, comment: string): string {
  return ctx
    .banner(file)
    .split('\n')
    .filter((l) => l.startsWith('//'))
    .map((l) => comment + l.slice(2))
    .join('\n') + '\n';
}

function docstring(text: string | undefined, indent: string): string[] {
  const t = (text ?? '').trim().replace(/\\/g, '\\\\').replace(/"""/g, '\\"\\"\\"');
  if (!t) return [];
  const lines = t.split(/\r?\n/);
  if (lines.length === 1) return [`${indent}"""${lines[0]}${lines[0]!.endsWith('"') ? ' ' : ''}"""`];
  return [`${indent}"""${lines[0]}`, ...lines.slice(1).map((l) => (l ? indent + l : '')), `${indent}"""`];
}

function pyproject(ir: IrDocument, plan: PyPlan): string {
  const description = `Python SDK for the ${ir.title} (generated from its OpenAPI document)`;
  return [
    '[build-system]',
    'requires = ["setuptools>=61"]',
    'build-backend = "setuptools.build_meta"',
    '',
    '[project]',
    `name = ${pyStr(plan.packageName)}`,
    `version = ${pyStr(pyVersion(ir.version))}`,
    `description = ${pyStr(description)}`,
    'requires-python = ">=3.11"',
    'dependencies = ["httpx>=0.23"]',
    'classifiers = ["Typing :: Typed", "Programming Language :: Python :: 3"]',
    '',
    '[tool.setuptools.packages.find]',
    'where = ["src"]',
    '',
    '[tool.setuptools.package-data]',
    `${plan.packageName} = ["py.typed"]`,
    '',
  ].join('\n');
}

/** A PEP 440 version from info.version (`1.0.0` stays; anything else becomes `0.0.0`). */
function pyVersion(version: string): string {
  return /^\d+(\.\d+)*$/.test(version) ? version : '0.0.0';
}

// ----------------------------------------------------------------------------------------------
// types.py

export interface TypesModule {
  text: string;
  /** Every name types.py declares. */
  names: Set<string>;
  /** Per operation: its method's argument types, response type and page item type. */
  ops: Map<IrOperation, { args: Map<string, string>; response: string; item: string | null }>;
  /** The type alias of a webhook delivery's body. */
  webhookEvent: string;
}

function typesModule(ir: IrDocument, plan: PyPlan): TypesModule {
  const env = schemaEnv(ir);
  const componentNames = new Map<string, string>();
  const reserved = new NameAllocator(PY_TYPE_NAMES);
  for (const c of ir.schemas) componentNames.set(c.name, reserved.take(toPascal(pyIdentifier(c.identifier))));
  const types = new PyTypes(env, (c) => componentNames.get(c.name)!, [...PY_TYPE_NAMES, ...componentNames.values()]);
  const aliases: string[] = [];
  for (const c of ir.schemas) {
    const name = componentNames.get(c.name)!;
    const text = types.type(c.schema, name, true);
    if (text !== name) {
      const s = typeof c.schema === 'object' ? c.schema : {};
      aliases.push('', `${name}: TypeAlias = ${pyStr(text)}`, ...docstring(typeof s.description === 'string' ? s.description : undefined, ''));
    }
  }
  // The body of a webhook delivery: one of the events under the spec's top-level `webhooks`.
  const events = ir.webhooks.flatMap((w) => (w.body?.contents[0] ? [types.type(w.body.contents[0].schema, `${toPascal(w.name)}Event`)] : []));
  const eventName = reserved.take('WebhookEvent');
  aliases.push('', `${eventName}: TypeAlias = ${pyStr([...new Set(events)].join(' | ') || 'Dict[str, object]')}`);
  aliases.push(...docstring("The body of a webhook delivery: one of the events the API sends (the spec's `webhooks`).", ''));
  const ops = new Map<IrOperation, { args: Map<string, string>; response: string; item: string | null }>();
  for (const g of plan.groups) {
    for (const m of g.methods) {
      const args = new Map<string, string>();
      for (const a of m.args) {
        const content = m.op.requestBody?.contents[0];
        const binary = a.planned.in === 'body' && m.plan.body.mode === 'single' && content && isBinaryContent(content);
        args.set(a.py, binary ? 'UploadFile' : types.type(a.planned.schema, `${m.op.typeName}${toPascal(a.planned.arg)}`));
      }
      ops.set(m.op, { args, response: responseType(m.op, types), item: m.op.pagination ? itemType(m.op, types, env) : null });
    }
  }
  // An object nobody named was dropped from every type text (an intersection keeps one member).
  const declared = types.objects.filter((o) => o.name !== undefined);
  const fieldNames = new Set([...PY_TYPE_NAMES, ...declared.map((o) => o.name!), ...componentNames.values()]);
  const out = [
    '"""Types of the API\'s objects, parameters and responses: TypedDicts and aliases."""',
    'from __future__ import annotations',
    '',
    'from typing import Dict, List, Literal, NoReturn, NotRequired, TypeAlias, TypedDict',
  ];
  for (const obj of declared) out.push('', '', ...typedDict(obj, types, fieldNames));
  out.push(...aliases, '');
  const text = out.join('\n');
  fieldNames.add(eventName);
  return { text: text.endsWith('\n') ? text : `${text}\n`, names: fieldNames, ops, webhookEvent: eventName };
}

function typedDict(obj: PyObject, types: PyTypes, taken: Set<string>): string[] {
  const field = (f: PyObject['fields'][number]) => {
    const t = types.resolve(f.type.text);
    return f.required ? t : `NotRequired[${t}]`;
  };
  const classSyntax = obj.fields.every((f) => pyIdentifier(f.key) === f.key && !taken.has(f.key) && !f.key.startsWith('__'));
  if (!classSyntax) {
    const entries = obj.fields.map((f) => `    ${pyStr(f.key)}: ${pyStr(field(f))},`);
    return [`${obj.name} = TypedDict(${pyStr(obj.name!)}, {`, ...entries, '})', ...docstring(obj.description, '')];
  }
  const lines = [`class ${obj.name}(TypedDict):`, ...docstring(obj.description, '    ')];
  for (const f of obj.fields) {
    lines.push(`    ${f.key}: ${field(f)}`);
    lines.push(...docstring(f.description?.split('\n')[0], '    '));
  }
  if (!obj.fields.length) lines.push('    pass');
  return lines;
}

function responseType(op: IrOperation, types: PyTypes): string {
  const out = new Set<string>();
  const responses = successResponses(op);
  for (const r of responses) {
    const c = r.contents[0];
    if (!c) out.add('None');
    else if (/^text\//i.test(c.contentType)) out.add('str');
    else if (isBinaryContent(c) || !/json/i.test(c.contentType)) out.add('bytes');
    else out.add(types.type(c.schema, `${op.typeName}Response`));
  }
  if (!out.size) return 'object';
  return [...out].join(' | ');
}

/** The item type of a cursor page (`{ data: Item[], ... }`). */
function itemType(op: IrOperation, types: PyTypes, env: SchemaEnv): string {
  const c = successResponses(op)[0]?.contents[0];
  const data = c ? objectView(c.schema, env)?.properties.data : undefined;
  const list = data === undefined ? undefined : env.deref(data);
  return isObj(list) && list.items !== undefined ? types.type(list.items as JsonSchema, `${op.typeName}Item`) : 'object';
}

// ----------------------------------------------------------------------------------------------
// _errors.py

function errorsModule(ir: IrDocument, plan: PyPlan, runtime: Record<string, string[]>): { text: string; names: string[] } {
  const reserved = new Set([...Object.values(runtime).flat(), plan.clientName, plan.asyncClientName]);
  const className = (base: string) => {
    const name = base.endsWith('Error') ? base : `${base}Error`;
    return BUILTIN_EXCEPTIONS.has(name) || reserved.has(name) ? `${plan.clientName}${name}` : name;
  };
  const codes = errorCodes(ir);
  const statuses = new Set<number>(codes.map((c) => c.status));
  for (const op of ir.operations) for (const r of op.responses) if (/^[45]\d\d$/.test(r.status)) statuses.add(Number(r.status));
  const byStatus = new Map<number, string>();
  const lines = [
    '"""One error class per HTTP status and one per error code the API declares (a code\'s class',
    'subclasses its status\'s class): `except NotFoundError` catches every 404."""',
    'from __future__ import annotations',
    '',
    'from typing import Dict, Type',
    '',
    'from ._exceptions import APIStatusError, ServerError',
  ];
  for (const status of [...statuses].sort((a, b) => a - b)) {
    const name = className(REASONS[status] ?? `Http${status}`);
    byStatus.set(status, name);
    lines.push('', '', `class ${name}(${status >= 500 ? 'ServerError' : 'APIStatusError'}):`, `    """HTTP ${status}."""`);
  }
  const byCode = new Map<string, string>();
  for (const { code, status } of codes) {
    const name = className(toPascal(pyIdentifier(code)));
    const parent = byStatus.get(status)!;
    byCode.set(code, name);
    if (name === parent) continue;
    lines.push('', '', `class ${name}(${parent}):`, `    """\`${code}\` (HTTP ${status})."""`);
  }
  lines.push('', '', 'ERRORS_BY_CODE: Dict[str, Type[APIStatusError]] = {');
  for (const [code, name] of byCode) lines.push(`    ${pyStr(code)}: ${name},`);
  lines.push('}', 'ERRORS_BY_STATUS: Dict[int, Type[APIStatusError]] = {');
  for (const [status, name] of byStatus) lines.push(`    ${status}: ${name},`);
  lines.push('}', '');
  return { text: lines.join('\n'), names: [...new Set([...byStatus.values(), ...byCode.values()])] };
}

// ----------------------------------------------------------------------------------------------
// _operations.py

function operationsModule(plan: PyPlan, env: SchemaEnv, security: SdkSecurity | null): string {
  const lines = [
    '"""Where each argument of each operation goes on the wire; read by the client core."""',
    'from __future__ import annotations',
    '',
    'from typing import Dict',
    '',
    'from ._core import Operation',
    '',
    'OPERATIONS: Dict[str, Operation] = {',
  ];
  for (const g of plan.groups) {
    for (const m of g.methods) {
      const b = m.plan.body;
      const job = m.op.asyncJob;
      lines.push(`    ${pyStr(m.op.operationId)}: {`);
      lines.push(`        "method": ${pyStr(m.op.method)},`, `        "path": ${pyStr(m.op.path)},`);
      if (security) lines.push(`        "security": ${pyRequirement(m.op.security)},`);
      lines.push('        "args": {');
      for (const a of m.args) {
        lines.push(`            ${pyStr(a.py)}: {"location": ${pyStr(a.planned.in)}, "name": ${pyStr(a.planned.name)}, "explode": ${a.planned.explode === false ? 'False' : 'True'}},`);
      }
      lines.push('        },');
      lines.push(`        "body_mode": ${pyStr(b.mode)},`);
      lines.push(`        "body_required": ${b.mode !== 'none' && b.required ? 'True' : 'False'},`);
      lines.push(`        "content_type": ${b.mode === 'none' ? 'None' : pyStr(b.contentType)},`);
      const first = m.op.requestBody?.contents[0];
      const styles = b.mode !== 'none' && first?.contentType === b.contentType ? sdkFormEncoding(b.contentType, first.encoding) : null;
      if (styles) lines.push(`        "form_encoding": {${Object.entries(styles).map(([k, v]) => `${pyStr(k)}: ${pyStr(v)}`).join(', ')}},`);
      lines.push(`        "idempotency_header": ${m.plan.idempotencyHeader ? pyStr(m.plan.idempotencyHeader) : 'None'},`);
      lines.push(`        "pagination": ${m.op.pagination ? pyStr(m.op.pagination) : 'None'},`);
      lines.push(`        "response_json": ${respondsJson(m.op) ? 'True' : 'False'},`);
      const keys = responseKeys(m.op, env);
      lines.push(`        "response_keys": ${keys ? `[${keys.map(pyStr).join(', ')}]` : 'None'},`);
      if (job) {
        const args = Object.entries(job.args).map(([k, v]) => `${pyStr(k)}: ${pyStr(v)}`).join(', ');
        lines.push(
          `        "async_job": {"poll": ${pyStr(job.poll)}, "args": {${args}}, "status_field": ${pyStr(job.statusField)}, "terminal": [${job.terminal.map(pyStr).join(', ')}]},`,
        );
      } else lines.push('        "async_job": None,');
      lines.push('    },');
    }
  }
  lines.push('}', '');
  return lines.join('\n');
}

// ----------------------------------------------------------------------------------------------
// _resources.py

function resourcesModule(plan: PyPlan, types: TypesModule): string {
  const body: string[] = [];
  const pollResponse = new Map<string, string>();
  for (const g of plan.groups) for (const m of g.methods) pollResponse.set(m.op.operationId, types.ops.get(m.op)!.response);
  for (const g of plan.groups) {
    body.push('', '', ...resourceClass(g, types, pollResponse, false));
    body.push('', '', ...resourceClass(g, types, pollResponse, true));
  }
  const text = body.join('\n');
  const words = new Set(text.match(/\b[A-Za-z_]\w*\b/g) ?? []);
  const used = [...types.names].filter((n) => !PY_TYPE_NAMES.includes(n) && words.has(n)).sort();
  return [
    '"""The operations, grouped by tag: one resource class per tag, blocking and async."""',
    'from __future__ import annotations',
    '',
    'from typing import Callable, Dict, List, Literal, Optional, cast',
    '',
    'from ._core import NOT_GIVEN, AsyncAPIClient, AsyncPager, NotGiven, RequestOptions, SyncAPIClient, SyncPager',
    ...(words.has('UploadFile') ? ['from ._uploads import UploadFile'] : []),
    ...(used.length ? [`from .types import (\n${used.map((n) => `    ${n},`).join('\n')}\n)`] : []),
    text,
    '',
  ].join('\n');
}

function resourceClass(g: PyGroup, types: TypesModule, pollResponse: Map<string, string>, async: boolean): string[] {
  const cls = async ? g.asyncClass : g.syncClass;
  const core = async ? 'AsyncAPIClient' : 'SyncAPIClient';
  const lines = [`class ${cls}:`, ...docstring(g.tag.description ?? `Operations tagged "${g.tag.name}".`, '    ')];
  lines.push('', `    def __init__(self, client: ${core}) -> None:`, '        self._client = client');
  for (const m of g.methods) lines.push('', ...methodSource(m, types, pollResponse, async));
  for (const m of g.methods) if (m.op.sdkUpload) lines.push('', ...uploadHelperSource(m, g, types, async));
  return lines;
}

/**
 * `x-sdk-upload`: a method that opens the slot with `m` and sends a file to it (the core's
 * `upload_via_slot`): the caller never picks the slot's URL apart, and a path or open file is
 * streamed with its size declared when the slot is opened.
 */
function uploadHelperSource(m: PyMethod, g: PyGroup, types: TypesModule, async: boolean): string[] {
  const upload = m.op.sdkUpload!;
  const where = `${m.op.pointer}/x-sdk-upload`;
  if (g.methods.some((x) => x.name === upload.method || x.waitName === upload.method)) throw new Error(`${where}: '${upload.method}' is already a method of ${g.syncClass}`);
  const send = g.methods.find((x) => x.op.operationId === upload.send);
  if (!send || send.plan.body.mode !== 'single') throw new Error(`${where}: send '${upload.send}' is not an operation of the same tag whose body is one argument (a file)`);
  const pyOf = (arg: string, of: PyMethod) => of.args.find((a) => a.planned.arg === arg)?.py;
  const t = types.ops.get(m.op)!;
  const filled = new Set([upload.size, upload.filename]);
  const sig = ['self', 'file: UploadFile', '*'];
  for (const a of m.args) {
    const type = t.args.get(a.py)!;
    sig.push(a.planned.required && !filled.has(a.planned.arg) ? `${a.py}: ${type}` : `${a.py}: ${type} | NotGiven = NOT_GIVEN`);
  }
  sig.push('request_options: Optional[RequestOptions] = None');
  const args: Record<string, string> = {};
  for (const [arg, field] of Object.entries(upload.args)) {
    const py = pyOf(arg, send);
    if (!py) throw new Error(`${where}: '${upload.send}' has no argument '${arg}'`);
    args[py] = field;
  }
  const spec = `{"send": ${pyStr(upload.send)}, "body_arg": ${pyStr(pyOf(send.plan.body.arg, send)!)}, "args": {${Object.entries(args).map(([k, v]) => `${pyStr(k)}: ${pyStr(v)}`).join(', ')}}, ` +
    `"size": ${upload.size ? pyStr(pyOf(upload.size, m) ?? upload.size) : 'None'}, "filename": ${upload.filename ? pyStr(pyOf(upload.filename, m) ?? upload.filename) : 'None'}}`;
  const params = `{${m.args.map((a) => `${pyStr(a.py)}: ${a.py}`).join(', ')}}`;
  const response = types.ops.get(send.op)!.response;
  const call = `${async ? 'await ' : ''}self._client.upload_via_slot(${pyStr(m.op.operationId)}, ${spec}, file, ${params}, request_options)`;
  const doc = docstring(
    `Opens a slot with \`${m.name}\` and sends \`file\` to it with \`${send.name}\`; returns what that answers.\n\n` +
      'A path (a str or os.PathLike) or an open binary file is read as it is sent, never whole\ninto memory. Its size ' +
      `${upload.filename ? 'and name fill' : 'fills'} in what the slot is opened with where not given, so an oversized\nfile fails before it is sent.`,
    '        ',
  );
  return [
    `    ${async ? 'async ' : ''}def ${upload.method}(`,
    ...sig.map((a) => `        ${a},`),
    `    ) -> ${response}:`,
    ...doc,
    `        return ${response === 'object' ? call : `cast(${pyStr(response)}, ${call})`}`,
  ];
}

function methodSource(m: PyMethod, types: TypesModule, pollResponse: Map<string, string>, async: boolean): string[] {
  const t = types.ops.get(m.op)!;
  const sig: string[] = ['self'];
  const positional = m.args.filter((a) => a.positional);
  for (const a of positional) sig.push(`${a.py}: ${t.args.get(a.py)}`);
  sig.push('*');
  for (const a of m.args.filter((x) => !x.positional)) {
    const type = t.args.get(a.py)!;
    sig.push(a.planned.required ? `${a.py}: ${type}` : `${a.py}: ${type} | NotGiven = NOT_GIVEN`);
  }
  sig.push('request_options: Optional[RequestOptions] = None');
  const params = `{${m.args.map((a) => `${pyStr(a.py)}: ${a.py}`).join(', ')}}`;
  const id = pyStr(m.op.operationId);
  const notes: string[] = [];
  if (m.op.summary) notes.push(m.op.summary.trim());
  if (m.op.description && m.op.description.trim() !== m.op.summary?.trim()) notes.push(m.op.description.trim());
  if (m.plan.idempotencyHeader) notes.push('Idempotent: one key (`request_options["idempotency_key"]`, or a generated one) is reused on every retry.');
  if (m.op.pagination) notes.push(async ? '`await` it for the first page, or `async for` over it for every item of every page.' : 'Iterate it for every item of every page; `.first_page()` is the first page.');
  if (m.waitName) notes.push(`Returns a job: \`${m.waitName}(job)\` polls it until it is finished.`);
  notes.push(`${m.op.method.toUpperCase()} ${m.op.path}`);
  const doc = docstring(notes.join('\n\n'), '        ');
  const lines: string[] = [];
  const def = (isAsync: boolean, name: string, args: string[], ret: string) => {
    const head = `    ${isAsync ? 'async ' : ''}def ${name}(`;
    const oneLine = `${head}${args.join(', ')}) -> ${ret}:`;
    if (oneLine.length <= 110) lines.push(oneLine);
    else lines.push(head, ...args.map((a) => `        ${a},`), `    ) -> ${ret}:`);
  };
  if (m.op.pagination) {
    const pager = `${async ? 'AsyncPager' : 'SyncPager'}[${t.response}, ${t.item ?? 'object'}]`;
    def(false, m.name, sig, pager);
    lines.push(...doc, `        return cast(${pyStr(pager)}, self._client.paginate(${id}, ${params}, request_options))`);
  } else {
    def(async, m.name, sig, t.response);
    const call = `${async ? 'await ' : ''}self._client.call(${id}, ${params}, request_options)`;
    lines.push(...doc, `        return ${t.response === 'object' ? call : `cast(${pyStr(t.response)}, ${call})`}`);
  }
  if (m.waitName && m.op.asyncJob) {
    const polled = pollResponse.get(m.op.asyncJob.poll) ?? 'object';
    // on_poll is typed by the polled body for the caller; the core hands it that body as an object.
    const onPoll = polled === 'object' ? 'on_poll' : 'cast("Optional[Callable[[object], None]]", on_poll)';
    const wait = `${async ? 'await ' : ''}self._client.wait_for_job(${id}, job, timeout=timeout, interval=interval, on_poll=${onPoll})`;
    lines.push('');
    def(async, m.waitName, ['self', `job: ${t.response}`, '*', 'timeout: float = 600', 'interval: float = 2', `on_poll: Optional[Callable[[${polled}], None]] = None`], polled);
    lines.push(
      ...docstring(
        `Polls \`${m.op.asyncJob.poll}\` for the job \`${m.name}\` returned until its ${m.op.asyncJob.statusField} is terminal ` +
          `(${m.op.asyncJob.terminal.join(', ')}); returns the last polled body. Raises WaitTimeoutError after \`timeout\` seconds.`,
        '        ',
      ),
      `        return ${polled === 'object' ? wait : `cast(${pyStr(polled)}, ${wait})`}`,
    );
  }
  return lines;
}

// ----------------------------------------------------------------------------------------------
// _client.py and __init__.py

function clientModule(ir: IrDocument, plan: PyPlan, webhookEvent: string, auth: { security: SdkSecurity; name: string } | null): string {
  const classes = plan.groups.flatMap((g) => [g.syncClass, g.asyncClass]).sort();
  const lines = [
    '"""The clients: blocking and async, one attribute per tag."""',
    'from __future__ import annotations',
    '',
    `from typing import Mapping, Optional, ${auth ? 'TypedDict, ' : ''}cast`,
    '',
    'import httpx',
    '',
    ...(auth ? ['from ._auth import BasicCredentials'] : []),
    'from ._core import AsyncAPIClient, ClientConfig, ClientDefaults, SyncAPIClient',
    'from ._webhooks import Payload, Secret, verify_signed_webhook',
    `from .types import ${webhookEvent}`,
    'from ._errors import ERRORS_BY_CODE, ERRORS_BY_STATUS',
    'from ._operations import OPERATIONS',
    `from ._resources import (\n${classes.map((c) => `    ${c},`).join('\n')}\n)`,
    '',
    'DEFAULTS: ClientDefaults = {',
    `    "name": ${pyStr(plan.packageName)},`,
    `    "version": ${pyStr(pyVersion(ir.version))},`,
    `    "base_url": ${pyStr(ir.serverUrl)},`,
    `    "env_prefix": ${pyStr(plan.envPrefix)},`,
    '    "errors_by_code": ERRORS_BY_CODE,',
    '    "errors_by_status": ERRORS_BY_STATUS,',
    ...(auth ? pyDefaultsEntries(auth.security, ir.security) : []),
    '}',
  ];
  if (auth) lines.push('', '', ...pyCredentialsType(auth.security, auth.name));
  const params = [
    'self',
    '*',
    'api_key: Optional[str] = None',
    ...(auth ? [`credentials: Optional[${auth.name}] = None`] : []),
    'base_url: Optional[str] = None',
    'timeout: float = 60.0',
    'max_retries: int = 2',
    'headers: Optional[Mapping[str, str]] = None',
    'initial_retry_delay: float = 0.5',
    'max_retry_delay: float = 8.0',
    'max_retry_after: float = 60.0',
    'max_response_bytes: int = 32 * 1024 * 1024',
  ];
  const config =
    `ClientConfig(api_key=api_key, ${auth ? 'credentials=credentials or {}, ' : ''}base_url=base_url, timeout=timeout, max_retries=max_retries, headers=headers or {},\n` +
    '                         initial_retry_delay=initial_retry_delay, max_retry_delay=max_retry_delay, max_retry_after=max_retry_after,\n' +
    '                         max_response_bytes=max_response_bytes)';
  for (const async of [false, true]) {
    const name = async ? plan.asyncClientName : plan.clientName;
    lines.push('', '', `class ${name}(${async ? 'AsyncAPIClient' : 'SyncAPIClient'}):`);
    lines.push(
      ...docstring(
        `${async ? 'Async' : 'Blocking'} client of the ${ir.title}. \`api_key\` and \`base_url\` default to the ${plan.envPrefix}_API_KEY and ` +
          `${plan.envPrefix}_BASE_URL environment variables, \`base_url\` then to ${ir.serverUrl || "the spec's server"}. ` +
          `\`timeout\` is per attempt, in seconds; \`max_retries\` counts the retries after the first attempt; ` +
          `a response body over \`max_response_bytes\` raises InvalidResponseError.`,
        '    ',
      ),
      '',
    );
    for (const g of plan.groups) lines.push(`    ${g.attr}: ${async ? g.asyncClass : g.syncClass}`);
    lines.push('', '    def __init__(');
    for (const p of [...params, `http_client: Optional[${async ? 'httpx.AsyncClient' : 'httpx.Client'}] = None`]) lines.push(`        ${p},`);
    lines.push('    ) -> None:');
    lines.push(`        super().__init__(OPERATIONS, DEFAULTS, ${config}, http_client)`);
    for (const g of plan.groups) lines.push(`        self.${g.attr} = ${async ? g.asyncClass : g.syncClass}(self)`);
    if (async) {
      lines.push('', `    async def __aenter__(self) -> ${name}:`, '        return self');
      lines.push('', '    async def __aexit__(self, *exc: object) -> None:', '        await self.close()');
    } else {
      lines.push('', `    def __enter__(self) -> ${name}:`, '        return self');
      lines.push('', '    def __exit__(self, *exc: object) -> None:', '        self.close()');
    }
  }
  lines.push(
    '',
    '',
    'def verify_webhook(payload: Payload, headers: Mapping[str, str], secret: Secret, *, tolerance: float = 300,',
    `                   now: Optional[float] = None) -> ${webhookEvent}:`,
    ...docstring(
      'Verifies a webhook delivery (Standard Webhooks: HMAC-SHA256 with the endpoint\'s `whsec_` secret, timestamp ' +
        'within `tolerance` seconds) and returns its body, typed by the event. Pass the raw body exactly as received. ' +
        'Raises WebhookVerificationError otherwise.',
      '    ',
    ),
    `    return cast(${pyStr(webhookEvent)}, verify_signed_webhook(payload, headers, secret, tolerance=tolerance, now=now))`,
    '',
  );
  return lines.join('\n');
}

function initModule(ir: IrDocument, plan: PyPlan, errors: string[], runtime: Record<string, string[]>, credentials: string | null): string {
  const fromClient = [plan.asyncClientName, plan.clientName, ...(credentials ? [credentials] : [])];
  const exported = [plan.clientName, plan.asyncClientName, ...(credentials ? [credentials] : []), 'verify_webhook', ...Object.values(runtime).flat(), ...errors, '__version__'];
  const lines = [
    `"""${plan.clientName}: the Python SDK of the ${ir.title}.`,
    '',
    `    from ${plan.packageName} import ${plan.clientName}`,
    `    client = ${plan.clientName}(api_key="...", base_url=${pyStr(ir.serverUrl)})`,
    '',
    `Types of objects and parameters are in \`${plan.packageName}.types\`."""`,
    '',
    `from ._client import ${fromClient.join(', ')}, verify_webhook`,
  ];
  for (const [mod, names] of Object.entries(runtime)) lines.push(`from .${mod} import ${[...names].sort().join(', ')}`);
  if (errors.length) lines.push(`from ._errors import (\n${[...errors].sort().map((n) => `    ${n},`).join('\n')}\n)`);
  lines.push('', `__version__ = ${pyStr(pyVersion(ir.version))}`, '', '__all__ = [', ...exported.map((n) => `    ${pyStr(n)},`), ']', '');
  return lines.join('\n');
}

