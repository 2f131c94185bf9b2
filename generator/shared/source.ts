/**
 * Helpers shared by the emitters: ts-morph's CodeBlockWriter with the house style, and the facts
 * about operations (their parameters, bodies and success responses) that several artifacts need.
 *
 * The writer is imported from `code-block-writer`, the package ts-morph itself re-exports it from:
 * `import 'ts-morph'` loads the whole TypeScript compiler (~1 s, 3-5 s on a busy machine) and
 * nothing else here needs it. Emitters produce text; no AST, no formatText().
 */
import CodeBlockWriter from 'code-block-writer';
import type { IrDocument, IrMediaBody, IrOperation, IrParameter, IrResponse } from '../ir-types.js';
import { SchemaEnv } from '../schema/walker.js';
import { propertyKey } from '../names.js';
import { isBinaryMedia } from '../media-types.js';
import { formPlan, isFormType, type FormPlan } from '../form-plan.js';

export function writeSource(build: (w: CodeBlockWriter) => void): string {
  const w = new CodeBlockWriter({ indentNumberOfSpaces: 2, useTabs: false, newLine: '\n', useSingleQuote: true });
  build(w);
  const text = w.toString();
  return text.endsWith('\n') ? text : text + '\n';
}

const envs = new WeakMap<IrDocument, SchemaEnv>();
/** One SchemaEnv per IR, shared by every emitter of a run. */
export function schemaEnv(ir: IrDocument): SchemaEnv {
  let env = envs.get(ir);
  if (!env) envs.set(ir, (env = new SchemaEnv(ir.schemas)));
  return env;
}

export type ParameterLocation = 'path' | 'query' | 'header';

export function parametersIn(op: IrOperation, location: ParameterLocation): IrParameter[] {
  return op.parameters.filter((p) => p.in === location);
}

/** The name a parameter has in the parsed input: header names are lower-cased (Node lower-cases them). */
export function parameterKey(p: IrParameter): string {
  return p.in === 'header' ? p.name.toLowerCase() : p.name;
}

/** The request body content the emitters type and validate first: JSON when declared (IR order). */
export function primaryContent(contents: IrMediaBody[]): IrMediaBody | undefined {
  return contents[0];
}

/** 2xx (and 2XX) responses; when there are none, `default` stands for success. */
export function successResponses(op: IrOperation): IrResponse[] {
  const ok = op.responses.filter((r) => r.status.startsWith('2'));
  if (ok.length) return ok;
  return op.responses.filter((r) => r.status === 'default');
}

/**
 * Every documented 2xx answer has a JSON body: the SDKs then refuse a success answer that is not
 * JSON (a proxy's page, a truncated body) instead of handing it back typed as the documented object.
 */
export function respondsJson(op: IrOperation): boolean {
  const ok = op.responses.filter((r) => r.status.startsWith('2'));
  return ok.length > 0 && ok.every((r) => r.contents.length > 0 && r.contents.every((c) => /[/+]json\b/i.test(c.contentType) && !isBinaryContent(c)));
}

const TWO_XX = [200, 201, 202, 203, 204, 205, 206, 207, 208, 226];

/** The numeric statuses a response key stands for (`2XX` -> every 2xx code); empty for `default`. */
export function statusCodes(status: string): number[] {
  if (/^\d{3}$/.test(status)) return [Number(status)];
  if (status === '2XX') return TWO_XX;
  if (/^[1-5]XX$/.test(status)) return Array.from({ length: 100 }, (_, i) => Number(status[0]) * 100 + i);
  return [];
}

/** TS type text of the status for a Result member. */
export function statusType(status: string): string {
  if (/^\d{3}$/.test(status)) return status;
  if (status === '2XX') return TWO_XX.join(' | ');
  return 'number';
}

/** Media types whose bytes are not parsed: the body reaches the handler as a stream. */
export function isBinaryContent(m: IrMediaBody): boolean {
  return isBinaryMedia(m.contentType, m.schema);
}

/** How the runtime decodes this content as a form body, or null when it is no form it decodes (form-plan.ts). */
export function formPlanOf(ir: IrDocument, m: IrMediaBody): FormPlan | null {
  if (!isFormType(m.contentType) || isBinaryContent(m)) return null;
  const env = schemaEnv(ir);
  return formPlan(m.schema, m.encoding, (s) => env.deref(s as never), '').plan;
}

/**
 * `/pets/{petId}` -> `/pets/:petId` for @koa/router (path-to-regexp v8: specials escaped, odd names
 * quoted). The router matches the path as it arrives, percent-encoded: literal text a client must
 * encode (`/größe`, a space) is written encoded, as fetch and curl send it, or the route never matches.
 */
export function routerPath(path: string): string {
  return path
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const m = /^\{([^}]+)\}$/.exec(part);
      if (m) return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(m[1]!) ? `:${m[1]}` : `:${JSON.stringify(m[1])}`;
      return encodePathText(part).replace(/[()[\]?+!*:{}\\]/g, '\\$&');
    })
    .join('');
}

/** The URL standard's path percent-encode set: controls, space, `"#<>?\`{}` and everything past ASCII, as UTF-8. */
function encodePathText(text: string): string {
  return text.replace(/[^\x21-\x7e]+|["#<>?`{}]/gu, (run) => [...Buffer.from(run, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

/** A JS string literal (single-quoted, house style). */
export function str(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')}'`;
}

/** Source text placed as it is by `tsLiteral` (for a literal that needs `as const`). */
export class RawCode {
  constructor(readonly code: string) {}
}

export function tsLiteral(value: unknown, indent = ''): string {
  if (value instanceof RawCode) return value.code;
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return str(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return String(value);
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (!value.length) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const flat = `[${value.map((v) => tsLiteral(v)).join(', ')}]`;
      if (flat.length + indent.length <= 100) return flat;
    }
    return `[\n${value.map((v) => inner + tsLiteral(v, inner)).join(',\n')},\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (!entries.length) return '{}';
  const simple = (v: unknown) => v === null || typeof v !== 'object' || v instanceof RawCode;
  if (entries.every(([, v]) => simple(v) || (Array.isArray(v) && v.every(simple)))) {
    const flat = `{ ${entries.map(([k, v]) => `${literalKey(k)}: ${entryValue(k, v, '')}`).join(', ')} }`;
    if (flat.length + indent.length <= 100 && !flat.includes('\n')) return flat;
  }
  return `{\n${entries.map(([k, v]) => `${inner}${literalKey(k)}: ${entryValue(k, v, inner)}`).join(',\n')},\n${indent}}`;
}

/**
 * An entry's value, `as const` under a key that names an Object.prototype member (`constructor`,
 * `toString`): tsc types such an entry of a literal with an index signature without its context,
 * so `{ constructor: { type: 'apiKey' } }` would be refused for `type: string` (TS2322).
 */
export function entryValue(key: string, value: unknown, indent: string): string {
  const code = tsLiteral(value, indent);
  return key in Object.prototype && value !== null && !(value instanceof RawCode) ? `${code} as const` : code;
}

function literalKey(key: string): string {
  if (key === '__proto__') return `['__proto__']`; // a plain key would set the prototype
  const bare = propertyKey(key);
  return bare.startsWith('"') ? str(key) : bare;
}
