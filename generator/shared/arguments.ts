/**
 * The argument plan: an operation's path, query, header and body inputs flattened into one list of
 * named arguments, each with its place on the wire. The MCP tools and both SDKs (TypeScript, Python)
 * take their argument names from here, so they agree on names and on how clashes are resolved.
 */
import type { IrOperation, JsonSchema } from '../ir-types.js';
import { isAbsentMarker } from '../schema/absent.js';
import { type SchemaEnv, isObj } from '../schema/walker.js';
import { respondsJson } from './source.js';

export type ArgLocation = 'path' | 'query' | 'header' | 'body';

export interface PlannedArg {
  /** The flattened argument name. */
  arg: string;
  in: ArgLocation;
  /** Name on the wire. */
  name: string;
  required: boolean;
  schema: JsonSchema;
  description?: string;
  explode?: boolean;
}

export type BodyPlan =
  | { mode: 'none' }
  | { mode: 'flat'; contentType: string; required: boolean; schema: JsonSchema; renamed: Record<string, string> }
  | { mode: 'single'; arg: string; contentType: string; required: boolean; schema: JsonSchema };

export interface ArgumentPlan {
  args: PlannedArg[];
  body: BodyPlan;
  /** The header carrying the idempotency key, for idempotent operations. */
  idempotencyHeader: string | null;
}

/** Headers a client never sets per call (OpenAPI says such parameters are ignored). */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);
/** The MCP argument that carries an idempotent operation's key. */
export const IDEMPOTENCY_ARG = 'idempotency_key';

/** A name MCP clients accept (`^[a-zA-Z0-9_.-]{1,64}$`); header names become snake_case. */
function argName(wire: string, location: ArgLocation): string {
  const base = location === 'header' ? wire.toLowerCase().replace(/-/g, '_') : wire;
  return (base.replace(/[^A-Za-z0-9_.-]/g, '_') || '_').slice(0, 64);
}

/**
 * Flattens an operation's inputs. `mcp`: header parameters are dropped except the idempotency key
 * (argument `idempotency_key`), and read-only body properties are left out. `sdk`: every header
 * parameter is an argument except the idempotency key (an SDK request option).
 */
export function planArguments(op: IrOperation, env: SchemaEnv, audience: 'mcp' | 'sdk'): ArgumentPlan {
  const taken = new Set<string>();
  const take = (wire: string, location: ArgLocation): string => {
    let name = argName(wire, location);
    if (taken.has(name)) name = argName(`${location}_${wire}`, location);
    for (let i = 2; taken.has(name); i++) name = argName(`${location}_${wire}_${i}`, location);
    taken.add(name);
    return name;
  };
  const declaredKey = op.parameters.find((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key');
  const idempotencyHeader = op.idempotent ? (declaredKey?.name ?? 'Idempotency-Key') : null;
  const args: PlannedArg[] = [];
  for (const location of ['path', 'query', 'header'] as const) {
    for (const p of op.parameters.filter((q) => q.in === location)) {
      if (location === 'header') {
        const lower = p.name.toLowerCase();
        if (IGNORED_HEADERS.has(lower)) continue;
        if (idempotencyHeader && lower === idempotencyHeader.toLowerCase()) continue;
        if (audience === 'mcp') continue;
      }
      args.push({
        arg: take(p.name, location),
        in: location,
        name: p.name,
        required: p.required,
        schema: p.schema,
        ...(p.description !== undefined ? { description: p.description } : {}),
        ...(location === 'query' && p.explode === false ? { explode: false } : {}),
      });
    }
  }
  if (idempotencyHeader && audience === 'mcp') {
    taken.add(IDEMPOTENCY_ARG);
    args.push({
      arg: IDEMPOTENCY_ARG,
      in: 'header',
      name: idempotencyHeader,
      required: false,
      schema: declaredKey?.schema ?? { type: 'string', minLength: 1, maxLength: 255 },
      description:
        'Any unique string for this logical action (for example "<workflow id>:<date>"). Reuse it on every retry: a repeated key returns the first result instead of acting twice.',
    });
  }
  const content = op.requestBody?.contents[0];
  let body: BodyPlan = { mode: 'none' };
  if (op.requestBody && content) {
    const required = op.requestBody.required;
    const view = FLATTENABLE.test(content.contentType) ? objectView(content.schema, env) : null;
    if (view && Object.keys(view.properties).length) {
      const renamed: Record<string, string> = {};
      for (const [name, schema] of Object.entries(view.properties)) {
        // The request view marks read-only properties absent (generator/ir-direction.ts): no argument
        // offers them; MCP also hides any other readOnly one from the agent.
        if (isAbsentMarker(schema) || (audience === 'mcp' && isObj(schema) && schema.readOnly === true)) continue;
        const arg = take(name, 'body');
        if (arg !== name) renamed[name] = arg;
        args.push({ arg, in: 'body', name, required: required && view.required.includes(name), schema });
      }
      body = { mode: 'flat', contentType: content.contentType, required, schema: content.schema, renamed };
    } else {
      const arg = take('body', 'body');
      args.push({ arg, in: 'body', name: '', required, schema: content.schema, ...(op.requestBody.description ? { description: op.requestBody.description } : {}) });
      body = { mode: 'single', arg, contentType: content.contentType, required, schema: content.schema };
    }
  }
  return { args, body, idempotencyHeader };
}

const FLATTENABLE = /^(application\/([\w.+-]+\+)?json|multipart\/form-data|application\/x-www-form-urlencoded)\b/i;

export interface ObjectView {
  properties: Record<string, JsonSchema>;
  required: string[];
}

/** The properties of an object schema (through component refs and allOf); null when it is not one. */
export function objectView(schema: JsonSchema, env: SchemaEnv, depth = 0): ObjectView | null {
  const s = env.deref(schema);
  if (!isObj(s) || depth > 10) return null;
  if ('oneOf' in s || 'anyOf' in s || 'not' in s || 'if' in s) return null;
  const types = Array.isArray(s.type) ? s.type.filter((t) => t !== 'null') : s.type === undefined ? [] : [s.type];
  if (types.some((t) => t !== 'object')) return null;
  if (!types.length && !('properties' in s) && !('allOf' in s)) return null;
  const view: ObjectView = {
    properties: isObj(s.properties) ? { ...(s.properties as Record<string, JsonSchema>) } : {},
    required: Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === 'string') : [],
  };
  for (const member of Array.isArray(s.allOf) ? (s.allOf as JsonSchema[]) : []) {
    const inner = objectView(member, env, depth + 1);
    if (!inner) return null;
    for (const [k, v] of Object.entries(inner.properties)) if (!(k in view.properties)) view.properties[k] = v;
    view.required.push(...inner.required.filter((r) => !view.required.includes(r)));
  }
  return view;
}

/**
 * The keys every documented success body has, when each is a JSON object (not nullable): both
 * SDKs refuse a success answer that is no object or lacks one of them, instead of handing it back
 * typed as the documented object. null when a success body may be something else.
 */
export function responseKeys(op: IrOperation, env: SchemaEnv): string[] | null {
  if (!respondsJson(op)) return null;
  let keys: string[] | null = null;
  for (const c of op.responses.filter((r) => r.status.startsWith('2')).flatMap((r) => r.contents)) {
    const s = env.deref(c.schema);
    const view = objectView(c.schema, env);
    if (!view || (isObj(s) && Array.isArray(s.type) && s.type.includes('null'))) return null;
    keys = keys === null ? [...view.required] : keys.filter((k) => view.required.includes(k));
  }
  return keys;
}
