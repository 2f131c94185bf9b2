/**
 * mcp.gen.ts: one MCP tool definition per `x-mcp` tool. Each tool's input is the operation's path,
 * query and body fields flattened into one JSON Schema object (plus `idempotency_key` where the
 * operation is idempotent), with every component ref inlined: MCP clients want self-contained
 * schemas. `args` says where each argument goes on the HTTP request, so the MCP server needs no
 * per-tool code. The argument plan (shared/arguments.ts) is the SDKs' too: same names, same clash rules.
 */
import type { IrDocument, IrMcpTool, IrOperation, JsonSchema } from '../ir-types.js';
import { pointerJoin } from '../names.js';
import { type SchemaEnv, isObj } from '../schema/walker.js';
import { SpecError } from '../spec-doc.js';
import type { Emitter } from '../shared/emitter.js';
import { prelude } from '../shared/preludes.js';
import { type ArgLocation, type ArgumentPlan, IDEMPOTENCY_ARG, planArguments } from '../shared/arguments.js';
import { schemaEnv, tsLiteral } from '../shared/source.js';

type Obj = { [key: string]: unknown };

// ----------------------------------------------------------------------------------------------
// Self-contained JSON Schema for MCP clients

const SCHEMA_VALUED = new Set(['additionalProperties', 'items', 'not', 'if', 'then', 'else', 'contains', 'propertyNames', 'unevaluatedProperties', 'unevaluatedItems', 'contentSchema']);
const MAP_VALUED = new Set(['properties', 'patternProperties', 'dependentSchemas', '$defs']);
const ARRAY_VALUED = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
/** OpenAPI-only keywords a JSON Schema validator does not know. */
const OPENAPI_ONLY = new Set(['discriminator', 'xml', 'externalDocs', 'example', 'definitions']);
/** Component refs expanded inside one another before the schema is cut to `{}`. */
const MAX_REF_DEPTH = 8;

/** Inlines every component ref (a recursive one is cut to `{}`), drops OpenAPI-only keywords. */
export function inlineSchema(schema: JsonSchema, env: SchemaEnv, opts: { dropReadOnly?: boolean } = {}): JsonSchema {
  const stack: string[] = [];
  const walk = (s: unknown): JsonSchema => {
    if (typeof s === 'boolean') return s;
    if (!isObj(s)) return {};
    if (typeof s.$ref === 'string') {
      const { $ref, ...siblings } = s;
      const annotations = walk(siblings) as Obj;
      const c = env.component($ref);
      if (!c || stack.includes(c.name) || stack.length >= MAX_REF_DEPTH) return annotations;
      stack.push(c.name);
      const inner = walk(c.schema);
      stack.pop();
      if (!Object.keys(annotations).length) return inner;
      if (inner === true) return annotations;
      if (inner === false) return false;
      return { ...inner, ...annotations };
    }
    const out: Obj = {};
    for (const [key, value] of Object.entries(s)) {
      if (OPENAPI_ONLY.has(key) || key.startsWith('x-')) continue;
      if (SCHEMA_VALUED.has(key)) out[key] = walk(value);
      else if (MAP_VALUED.has(key) && isObj(value)) out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
      else if (ARRAY_VALUED.has(key) && Array.isArray(value)) out[key] = value.map(walk);
      else out[key] = value;
    }
    if (s.example !== undefined && out.examples === undefined) out.examples = [s.example];
    if (opts.dropReadOnly && isObj(out.properties)) {
      const props = out.properties as Obj;
      const hidden = Object.keys(props).filter((k) => isObj(props[k]) && (props[k] as Obj).readOnly === true);
      for (const k of hidden) delete props[k];
      if (Array.isArray(out.required)) out.required = out.required.filter((r) => !hidden.includes(r as string));
    }
    return out;
  };
  return walk(schema);
}

// ----------------------------------------------------------------------------------------------
// Tool definitions

export interface McpToolData {
  name: string;
  title: string;
  description: string;
  inputSchema: { type: 'object'; properties: Record<string, JsonSchema>; required?: string[]; additionalProperties: false };
  outputSchema: { type: 'object'; [key: string]: unknown };
  annotations: IrMcpTool['annotations'];
  confirm: McpConfirm | null;
  /** Values sent for arguments the caller left out (the MCP tool's own defaults, not the API's). */
  defaults: Record<string, unknown>;
  operationId: string;
  method: string;
  path: string;
  args: Record<string, { in: ArgLocation; name: string; explode?: boolean }>;
  body: { mode: 'none' } | { mode: 'flat'; contentType: string; required: boolean } | { mode: 'single'; arg: string; contentType: string; required: boolean };
}

/**
 * Calls that need the user's yes first: those that spend credits (`x-charges-credits`; when the
 * tool takes `max_credits`, only a call allowing more than 0) and those that post publicly
 * (destructive and open-world). The MCP server asks through elicitation, or wants `confirm: true`.
 */
export interface McpConfirm {
  reason: 'spends_credits' | 'posts_publicly';
  /** The argument that caps the spend; no confirmation while it is 0 or absent. */
  limitArg?: string;
}

const CONFIRM_ARG = 'confirm';

function confirmOf(op: IrOperation, tool: IrMcpTool, argNames: string[]): McpConfirm | null {
  if (op.chargesCredits) return { reason: 'spends_credits', ...(argNames.includes('max_credits') ? { limitArg: 'max_credits' } : {}) };
  if (tool.annotations.destructiveHint && tool.annotations.openWorldHint) return { reason: 'posts_publicly' };
  return null;
}

function confirmNote(confirm: McpConfirm): string {
  const what = confirm.reason === 'posts_publicly' ? 'posts publicly' : confirm.limitArg ? `spends credits when ${confirm.limitArg} is above 0` : 'spends credits';
  const yes = confirm.reason === 'posts_publicly' ? 'the channel, the content and the time' : 'the price';
  return `Needs the user's yes, since it ${what}: a client that supports elicitation asks the user itself (declining sends nothing). Otherwise pass ${CONFIRM_ARG}: true, and only after telling the user ${yes} and hearing yes.`;
}

export function buildMcpTools(ir: IrDocument): McpToolData[] {
  const env = schemaEnv(ir);
  const toolOf = (operationId: string) => ir.operations.find((o) => o.operationId === operationId)?.mcpTools[0]?.name;
  const allTools = ir.operations.flatMap((o) => o.mcpTools.map((t) => t.name));
  const estimateTool = allTools.includes('estimate_cost') ? 'estimate_cost' : allTools.find((n) => /^estimate/.test(n));
  const seen = new Map<string, string>();
  const tools: McpToolData[] = [];
  for (const op of ir.operations) {
    const plan = planArguments(op, env, 'mcp');
    op.mcpTools.forEach((tool, index) => {
      const at = pointerJoin(op.pointer, 'x-mcp', 'tools', index);
      if (seen.has(tool.name)) throw new SpecError(pointerJoin(at, 'name'), `duplicate MCP tool name "${tool.name}" (also at ${seen.get(tool.name)})`);
      seen.set(tool.name, at);
      const known = new Set(plan.args.map((a) => a.arg));
      for (const name of Object.keys(tool.defaults)) {
        if (!known.has(name)) throw new SpecError(pointerJoin(at, 'defaults', name), `"${name}" is not an argument of ${op.operationId} (arguments: ${[...known].join(', ') || 'none'})`);
      }
      for (const list of ['exclude', 'require'] as const) {
        tool[list].forEach((name, i) => {
          if (!known.has(name)) throw new SpecError(pointerJoin(at, list, i), `"${name}" is not an argument of ${op.operationId} (arguments: ${[...known].join(', ') || 'none'})`);
        });
      }
      const args = plan.args.filter((a) => !tool.exclude.includes(a.arg));
      const properties: Record<string, JsonSchema> = {};
      for (const a of args) {
        let schema = inlineSchema(a.schema, env, { dropReadOnly: true });
        if (a.description && isObj(schema) && schema.description === undefined) schema = { description: a.description, ...schema };
        if (a.arg in tool.defaults && isObj(schema)) schema = { ...schema, default: tool.defaults[a.arg] };
        properties[a.arg] = schema;
      }
      const required = args.filter((a) => a.required || tool.require.includes(a.arg)).map((a) => a.arg);
      const confirm = confirmOf(op, tool, args.map((a) => a.arg));
      if (confirm) {
        if (properties[CONFIRM_ARG]) throw new SpecError(at, `"${CONFIRM_ARG}" is reserved for the MCP confirmation of ${tool.name}`);
        properties[CONFIRM_ARG] = {
          type: 'boolean',
          description: `true once the user has said yes to this call (needed when the client cannot ask them itself). Never sent to the API.`,
        };
      }
      const { body } = plan;
      tools.push({
        name: tool.name,
        title: humanize(tool.name),
        description: [describeTool(op, tool, plan, { estimateTool, pollTool: op.asyncJob ? toolOf(op.asyncJob.poll) : undefined, ir, env }), ...(confirm ? [confirmNote(confirm)] : [])].join('\n'),
        inputSchema: { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false },
        outputSchema: outputSchemaOf(op, env),
        annotations: { ...(op.method === 'get' || op.method === 'head' ? { readOnlyHint: true } : {}), ...tool.annotations },
        confirm,
        defaults: tool.defaults,
        operationId: op.operationId,
        method: op.method,
        path: op.path,
        args: Object.fromEntries(args.map((a) => [a.arg, { in: a.in, name: a.name, ...(a.explode === false ? { explode: false } : {}) }])),
        body:
          body.mode === 'none'
            ? { mode: 'none' }
            : body.mode === 'flat'
              ? { mode: 'flat', contentType: body.contentType, required: body.required }
              : { mode: 'single', arg: body.arg, contentType: body.contentType, required: body.required },
      });
    });
  }
  return tools;
}

/** What a successful call answers without a body: `{ ok: true, status }`. */
const NO_CONTENT_OUTPUT = {
  type: 'object',
  properties: { ok: { const: true }, status: { type: 'integer' } },
  required: ['ok', 'status'],
  additionalProperties: false,
} as const;

/**
 * The tool's `outputSchema`: the first success response's JSON schema, inlined. MCP wants an
 * object at the top, so a response that is not one (or has no JSON body) gets the server's
 * `{ ok, status }` shape, and a schema without `type` is pinned to `object`.
 */
export function outputSchemaOf(op: IrOperation, env: SchemaEnv): McpToolData['outputSchema'] {
  const success = op.responses.find((r) => /^2\d\d$/.test(r.status) && r.contents.length);
  const json = success?.contents.find((c) => /json/i.test(c.contentType));
  if (!json) return { ...NO_CONTENT_OUTPUT };
  const inlined = inlineSchema(json.schema, env);
  if (!isObj(inlined)) return { type: 'object' };
  const type = inlined.type;
  if (type === undefined) return { type: 'object', ...inlined };
  if (type === 'object') return inlined as McpToolData['outputSchema'];
  return { ...NO_CONTENT_OUTPUT };
}

function humanize(name: string): string {
  const text = name.replace(/[_-]+/g, ' ').trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The spec's words, then what the extensions imply for an agent: cost, polling, retries, pages. */
function describeTool(
  op: IrOperation,
  tool: IrMcpTool,
  plan: ArgumentPlan,
  ctx: { estimateTool: string | undefined; pollTool: string | undefined; ir: IrDocument; env: SchemaEnv },
): string {
  let text = tool.description.trim();
  if (!text || (text === op.summary?.trim() && op.description)) text = (op.description ?? op.summary ?? '').trim();
  text = unwrap(text) || `${humanize(tool.name)} (${op.method.toUpperCase()} ${op.path}).`;
  // Guidance the spec's own words already give is not repeated.
  const says = (phrase: string) => text.includes(phrase);
  const notes: string[] = [];
  if (op.chargesCredits && !(ctx.estimateTool && says(ctx.estimateTool))) {
    notes.push(
      ctx.estimateTool && ctx.estimateTool !== tool.name
        ? `Spends credits: call ${ctx.estimateTool} first, tell the user the price and wait for their go-ahead.`
        : 'Spends credits: tell the user the price and wait for their go-ahead first.',
    );
  }
  if (op.asyncJob && !(ctx.pollTool && says(ctx.pollTool))) {
    const job = op.asyncJob;
    const terminal = job.terminal.length ? `until ${job.statusField} is ${orList(job.terminal)}` : 'until it finishes';
    if (ctx.pollTool) {
      const pollOp = ctx.ir.operations.find((o) => o.operationId === job.poll)!;
      const pollPlan = planArguments(pollOp, ctx.env, 'mcp');
      const mapping = Object.entries(job.args).map(([param, field]) => {
        const arg = pollPlan.args.find((a) => a.name === param && a.in !== 'body')?.arg ?? param;
        return `${arg} = the result's ${field}`;
      });
      notes.push(`Returns a job: poll ${ctx.pollTool}${mapping.length ? ` (${mapping.join(', ')})` : ''} ${terminal}.`);
    } else {
      notes.push(`Returns a job that finishes in the background (${job.statusField} ends as ${orList(job.terminal)}).`);
    }
  }
  if (op.pagination === 'cursor' && !says('next_cursor')) {
    notes.push('Returns one page ({ data, next_cursor, has_more }): while has_more is true, call again with cursor = next_cursor.');
  }
  if (plan.idempotencyHeader && !tool.exclude.includes(IDEMPOTENCY_ARG) && !says(IDEMPOTENCY_ARG)) {
    notes.push('Identical calls within five minutes act once (a key is derived from the arguments when you pass no idempotency_key), so a retry never acts or charges twice. To repeat the action on purpose, pass a new idempotency_key.');
  }
  return notes.length ? `${text}\n\n${notes.join('\n')}` : text;
}

/** Joins hard-wrapped lines (YAML block scalars) into paragraphs; keeps blank lines, lists and code. */
export function unwrap(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .split(/\n{2,}/)
    .map((para) => (/^\s*([-*+]|\d+\.|```|\|)/m.test(para) ? para : para.replace(/\s*\n\s*/g, ' ')))
    .join('\n\n')
    .trim();
}

function orList(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

// ----------------------------------------------------------------------------------------------
// The emitter

export const emitter: Emitter = {
  name: 'mcp',
  file: 'mcp.gen.ts',
  emit(ir, ctx) {
    const table = `export const mcpTools: McpToolDefinition[] = ${tsLiteral(buildMcpTools(ir))};`;
    return [ctx.banner('mcp.gen.ts'), prelude('mcp.ts', 'types'), '', table, '', prelude('mcp.ts', 'helpers'), ''].join('\n');
  },
};
