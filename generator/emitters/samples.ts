/**
 * samples.gen.ts: per operation, how to call it with curl, the TypeScript SDK (`@lavendly/sdk`)
 * and the Python SDK (`lavendly`), as Redoc's `x-codeSamples`. The server merges them into the
 * spec it serves (src/http/docs.ts), with its own public URL in place of the spec's server URL.
 * Argument values come from the spec's examples; method and argument names from the same plans
 * the SDK emitters use, so a sample names what the SDKs really have.
 */
import type { IrDocument, IrOperation, JsonSchema } from '../ir-types.js';
import { toPascal } from '../names.js';
import { pyStr } from '../schema/python.js';
import { isObj, type SchemaEnv } from '../schema/walker.js';
import { planArguments } from '../shared/arguments.js';
import type { Emitter } from '../shared/emitter.js';
import { pythonPlan, type PyMethod } from '../shared/python-plan.js';
import { clientClassName, methodNames } from '../shared/sdk-names.js';
import { isBinaryContent, schemaEnv, str } from '../shared/source.js';

/** The npm package the TypeScript samples import. */
const TS_PACKAGE = '@lavendly/sdk';

export const emitter: Emitter = {
  name: 'samples',
  file: 'samples.gen.ts',
  emit(ir, ctx) {
    const env = schemaEnv(ir);
    const py = new Map<IrOperation, PyMethod & { attr: string }>();
    for (const g of pythonPlan(ir).groups) for (const m of g.methods) py.set(m.op, { ...m, attr: g.attr });
    const table: Record<string, { lang: string; label: string; source: string }[]> = {};
    for (const tag of ir.tagInfo) {
      const ops = ir.operations.filter((o) => o.tag === tag.name);
      const tsNames = methodNames(ops, tag);
      const group = camel(tag.name) || tag.identifier;
      for (const op of ops) {
        const values = exampleArgs(op, env);
        table[op.operationId] = [
          { lang: 'Shell', label: 'curl', source: curl(ir, op, values) },
          { lang: 'TypeScript', label: 'TypeScript', source: typescript(ir, op, group, tsNames.get(op)!, values, env) },
          { lang: 'Python', label: 'Python', source: python(ir, py.get(op)!, values) },
        ];
      }
    }
    return [
      ctx.banner('samples.gen.ts'),
      'export interface CodeSample {',
      '  lang: string;',
      '  label: string;',
      '  source: string;',
      '}',
      '',
      `const SPEC_SERVER_URL = ${str(ir.serverUrl)};`,
      '',
      // Quotes escaped: sample code such as `import ... from '@lavendly/sdk'` must not read as an
      // import of this module to a scanner of compiled output (test/ops/build.test.ts).
      `const samples: { [operationId: string]: CodeSample[] } = ${JSON.stringify(table, null, 2).replace(/'/g, '\\u0027')};`,
      '',
      "/** `x-codeSamples` per operationId, for a server at `baseUrl` (default: the spec's server URL). */",
      'export function codeSamples(baseUrl: string = SPEC_SERVER_URL): { [operationId: string]: CodeSample[] } {',
      '  const out: { [operationId: string]: CodeSample[] } = {};',
      '  for (const [id, list] of Object.entries(samples)) {',
      '    out[id] = list.map((s) => ({ ...s, source: s.source.split(SPEC_SERVER_URL).join(baseUrl) }));',
      '  }',
      '  return out;',
      '}',
      '',
    ].join('\n');
  },
};

function camel(name: string): string {
  const [first = '', ...rest] = name.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w.toLowerCase());
  return first + rest.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

/** Example values by argument name (the SDK plan's names): required parameters, and the body example. */
interface Example {
  path: Map<string, unknown>;
  query: Map<string, unknown>;
  headers: Map<string, unknown>;
  /** The JSON body example (a flat body's fields become arguments). */
  body: unknown;
  binary: { contentType: string } | null;
}

function exampleArgs(op: IrOperation, env: SchemaEnv): Example {
  const ex: Example = { path: new Map(), query: new Map(), headers: new Map(), body: undefined, binary: null };
  for (const p of op.parameters) {
    if (p.in === 'cookie' || (!p.required && p.in !== 'path')) continue;
    if (p.in === 'header' && /^(idempotency-key|authorization|content-type|accept)$/i.test(p.name)) continue;
    const value = exampleOf(p.schema, env) ?? `<${p.name}>`;
    (p.in === 'path' ? ex.path : p.in === 'query' ? ex.query : ex.headers).set(p.name, value);
  }
  const content = op.requestBody?.contents[0];
  if (content && isBinaryContent(content)) ex.binary = { contentType: content.contentType };
  else if (content) ex.body = content.examples[0] ?? exampleOf(content.schema, env) ?? (op.requestBody!.required ? {} : undefined);
  return ex;
}

/** A value for a schema: its example, default, const or first enum value, or one built from its required properties. */
function exampleOf(schema: JsonSchema, env: SchemaEnv, depth = 0): unknown {
  const s = env.deref(schema);
  if (!isObj(s) || depth > 4) return undefined;
  if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
  for (const key of ['example', 'default', 'const'] as const) if (s[key] !== undefined) return s[key];
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  if (isObj(s.properties)) {
    const out: Record<string, unknown> = {};
    for (const name of Array.isArray(s.required) ? (s.required as string[]) : []) {
      const v = exampleOf((s.properties as Record<string, JsonSchema>)[name] ?? {}, env, depth + 1);
      if (v !== undefined) out[name] = v;
    }
    return out;
  }
  return undefined;
}

function expandPath(op: IrOperation, values: Map<string, unknown>): string {
  return op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(String(values.get(name) ?? `<${name}>`)));
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function curl(ir: IrDocument, op: IrOperation, ex: Example): string {
  const query = [...ex.query].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
  const url = `${ir.serverUrl}${expandPath(op, ex.path)}${query ? `?${query}` : ''}`;
  const lines = [`curl${op.method === 'get' ? '' : ` -X ${op.method.toUpperCase()}`} ${shellQuote(url)}`];
  if (op.secured) lines.push(`-H "Authorization: Bearer $${pythonPlan(ir).envPrefix}_API_KEY"`);
  for (const [k, v] of ex.headers) lines.push(`-H ${shellQuote(`${k}: ${String(v)}`)}`);
  if (op.idempotent) lines.push(`-H "Idempotency-Key: $(uuidgen)"`);
  if (ex.binary) lines.push(`-H ${shellQuote(`Content-Type: ${ex.binary.contentType}`)}`, '--data-binary @file');
  else if (ex.body !== undefined) lines.push(`-H 'Content-Type: application/json'`, `-d ${shellQuote(JSON.stringify(ex.body))}`);
  return lines.join(' \\\n  ');
}

/** A JavaScript literal: JSON with bare keys where they are identifiers and single quotes. */
function jsLiteral(value: unknown, indent = ''): string {
  if (typeof value === 'string') return str(value);
  if (Array.isArray(value)) return `[${value.map((v) => jsLiteral(v, indent)).join(', ')}]`;
  if (isObj(value)) {
    const entries = Object.entries(value).map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : str(k)}: ${jsLiteral(v, indent)}`);
    return entries.length ? `{ ${entries.join(', ')} }` : '{}';
  }
  return JSON.stringify(value) ?? 'undefined';
}

function pyLiteral(value: unknown): string {
  if (typeof value === 'string') return pyStr(value);
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (Array.isArray(value)) return `[${value.map(pyLiteral).join(', ')}]`;
  if (isObj(value)) return `{${Object.entries(value).map(([k, v]) => `${pyStr(k)}: ${pyLiteral(v)}`).join(', ')}}`;
  return JSON.stringify(value);
}

function typescript(ir: IrDocument, op: IrOperation, group: string, method: string, ex: Example, env: SchemaEnv): string {
  const client = clientClassName(ir.title);
  const plan = planArguments(op, env, 'sdk');
  const args: string[] = [];
  for (const a of plan.args) {
    if (a.in === 'body') continue;
    const value = (a.in === 'path' ? ex.path : a.in === 'query' ? ex.query : ex.headers).get(a.name);
    if (value !== undefined) args.push(`${a.arg}: ${jsLiteral(value)}`);
  }
  if (plan.body.mode === 'single') args.push(`${plan.body.arg}: ${ex.binary ? "await readFile('file')" : jsLiteral(ex.body)}`);
  else if (plan.body.mode === 'flat' && isObj(ex.body)) {
    for (const [k, v] of Object.entries(ex.body)) args.push(`${plan.body.renamed[k] ?? k}: ${jsLiteral(v)}`);
  }
  const call = `client.${group}.${method}(${args.length ? `{ ${args.join(', ')} }` : ''})`;
  const lines = [
    ...(ex.binary ? ["import { readFile } from 'node:fs/promises';"] : []),
    `import { ${client} } from '${TS_PACKAGE}';`,
    '',
    `const client = new ${client}({ apiKey: process.env.${pythonPlan(ir).envPrefix}_API_KEY, baseUrl: ${str(ir.serverUrl)} });`,
  ];
  if (op.pagination) lines.push(`for await (const item of ${call}) {`, '  console.log(item);', '}');
  else if (op.asyncJob) {
    lines.push(`const job = await ${call};`, `const done = await client.${group}.waitFor${toPascal(op.operationId)}(job);`, 'console.log(done);');
  } else lines.push(`const result = await ${call};`, 'console.log(result);');
  return lines.join('\n');
}

function python(ir: IrDocument, m: PyMethod & { attr: string }, ex: Example): string {
  const plan = pythonPlan(ir);
  const args: string[] = [];
  for (const a of m.args) {
    const p = a.planned;
    let value: unknown;
    if (p.in === 'body') {
      if (m.plan.body.mode === 'single') {
        args.push(`${a.py}=${ex.binary ? 'open("file", "rb").read()' : pyLiteral(ex.body)}`);
        continue;
      }
      value = isObj(ex.body) ? ex.body[p.name] : undefined;
    } else value = (p.in === 'path' ? ex.path : p.in === 'query' ? ex.query : ex.headers).get(p.name);
    if (value === undefined) continue;
    args.push(a.positional ? pyLiteral(value) : `${a.py}=${pyLiteral(value)}`);
  }
  const call = `client.${m.attr}.${m.name}(${args.join(', ')})`;
  const lines = [
    'import os',
    '',
    `from ${plan.packageName} import ${plan.clientName}`,
    '',
    `client = ${plan.clientName}(api_key=os.environ["${plan.envPrefix}_API_KEY"], base_url=${pyStr(ir.serverUrl)})`,
  ];
  if (m.op.pagination) lines.push(`for item in ${call}:`, '    print(item)');
  else if (m.waitName) lines.push(`job = ${call}`, `print(client.${m.attr}.${m.waitName}(job))`);
  else lines.push(`print(${call})`);
  return lines.join('\n');
}
