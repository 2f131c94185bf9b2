/**
 * validators.gen.ts: zod 4 validators. Component schemas are `const $X: z.ZodType = z.lazy(...)`,
 * so declaration order does not matter, recursion works, and tsc never infers (or prints) a deep
 * zod type. Per operation: `{ path, query, headers, body, bodies, responses }`.
 * Path, query and header values arrive as strings: each parameter coerces by its schema and style.
 */
import type CodeBlockWriter from 'code-block-writer';
import type { IrDocument, IrOperation, IrParameter, JsonSchema } from '../ir-types.js';
import { propertyKey } from '../names.js';
import { isObj } from '../schema/walker.js';
import { CHECKS, FastChecks, fastFunction, type FastNode } from '../schema/fast-check.js';
import { zodCode } from '../schema/zod.js';
import type { Emitter } from '../shared/emitter.js';
import { prelude } from '../shared/preludes.js';
import { formPlanOf, isBinaryContent, parameterKey, parametersIn, primaryContent, schemaEnv, str, tsLiteral, writeSource, type ParameterLocation } from '../shared/source.js';

export const emitter: Emitter = {
  name: 'validators',
  file: 'validators.gen.ts',
  emit(ir, ctx) {
    const env = schemaEnv(ir);
    const text = writeSource((w) => {
      w.write(ctx.banner('validators.gen.ts'));
      w.writeLine("import { z } from 'zod';");
      w.blankLine();
      // The zod helpers (lv), the parameter coercions (lvp) and OperationValidators.
      w.writeLine(prelude('validators.ts', 'prelude'));
      w.blankLine();
      // Few top-level statements on purpose: tsc's flow analysis walks back over every preceding
      // statement for each `lv.x` / `z.x` reference, so 2,000 `const`s cost minutes on GitHub's spec.
      w.writeLine('interface lv_components {');
      w.indent(() => ir.schemas.forEach((c) => w.writeLine(`${c.identifier}: z.ZodType;`)));
      w.writeLine('}');
      w.blankLine();
      w.writeLine('/** Component schemas, lazy so that order does not matter and recursion works. */');
      w.writeLine('const $: lv_components = {');
      w.indent(() => ir.schemas.forEach((c) => w.writeLine(`${c.identifier}: lv.lazy(() => ${zodCode(c.schema, env)}),`)));
      w.writeLine('};');
      w.blankLine();
      w.writeLine('/** Component schemas by type name. */');
      w.writeLine('export const schemas = $;');
      w.blankLine();
      const fast = fastChecks(ir);
      writeFastChecks(w, fast);
      w.writeLine("/** Every operation's validators by operation identifier. */");
      w.writeLine('export const operationValidators = {');
      w.indent(() => {
        for (const op of ir.operations) {
          const contents = op.requestBody?.contents ?? [];
          w.writeLine(`${op.identifier}: lvp.op({`);
          w.indent(() => {
            w.writeLine(`path: ${parameterObject(ir, op, 'path')},`);
            w.writeLine(`query: ${parameterObject(ir, op, 'query')},`);
            w.writeLine(`headers: ${parameterObject(ir, op, 'header')},`);
            if (op.requestBody && !contents.length) w.writeLine(`body: ${op.requestBody.required ? 'z.unknown()' : 'z.unknown().optional()'},`);
            writeMap(w, 'bodies', contents.map((m) => [m.contentType, slot(bodyCode(ir, op, m.contentType))]));
            // How each form body is decoded before `bodies` checks it (runtime/form.ts); only where there is one.
            const forms = contents.flatMap((m) => {
              const plan = formPlanOf(ir, m);
              // Keyed as the runtime looks it up: by the request's type, lower-cased, without parameters.
              return plan ? [[m.contentType.split(';')[0]!.trim().toLowerCase(), tsLiteral(plan)] as [string, string]] : [];
            });
            if (forms.length) writeMap(w, 'forms', forms);
            for (const [field, code] of fast.byOperation.get(op.identifier) ?? []) w.writeLine(`${field}: ${code},`);
            writeMap(
              w,
              'responses',
              op.responses.map((r) => {
                const content = primaryContent(r.contents);
                return [r.status, slot(!content ? 'z.undefined()' : isBinaryContent(content) ? 'z.any()' : zodCode(content.schema, env))];
              }),
            );
          });
          w.writeLine('}),');
        }
      });
      w.writeLine('};');
      w.blankLine();
      for (const op of ir.operations) w.writeLine(`export const ${op.identifier} = operationValidators.${op.identifier};`);
      w.blankLine();
      w.writeLine(prelude('validators.ts', 'response-schema'));
    });
    return markUsed(text, prelude('validators.ts', 'prelude'));
  },
};

/** Prelude helpers that only some specs call (no operations, no string length bound...). */
const OPTIONAL_HELPERS: [name: string, use: RegExp][] = [['lvp', /\blvp\./], ['lv_cp', /\blv_cp\(/], ['lv_no_params', /\blv_no_params,/]];

/**
 * The file as written, with a `void` read of each optional helper nothing outside the prelude
 * calls: a consumer compiling generated code with noUnusedLocals would otherwise fail on it.
 */
function markUsed(text: string, preludeText: string): string {
  const rest = text.replace(preludeText, '');
  const unused = OPTIONAL_HELPERS.filter(([, use]) => !use.test(rest)).map(([name]) => name);
  if (!unused.length) return text;
  return `${text}\n/** Prelude helpers this spec has no use for, read once so that noUnusedLocals accepts the file. */\n${unused.map((n) => `void ${n};`).join('\n')}\n`;
}

interface FastChecksCode {
  /** Per operation, its fast check fields (`fastPath`... `fastBody`) and their expressions. */
  byOperation: Map<string, [field: string, code: string][]>;
  /** The component checks they call, as `lv_fast` entries. */
  components: [identifier: string, fn: string][];
  /** The regular expressions the checks use (`lv_fast_re`), as source. */
  patterns: string[];
  /** The checks several operations use (`lv_fast_same`), as source. */
  shared: string[];
}

/** The array of checks several operations share. */
const SHARED = 'lv_fast_same';

const FAST_PARAM_FIELDS: [ParameterLocation, string][] = [['path', 'fastPath'], ['query', 'fastQuery'], ['header', 'fastHeaders']];

/**
 * Fast checks (generator/schema/fast-check.ts) of every operation's parameters by location and of
 * its `body` (its first request content unless that is binary), and of the components they call.
 * Whatever has something the checks do not cover (a coerced parameter, a tuple...) gets none.
 */
function fastChecks(ir: IrDocument): FastChecksCode {
  const env = schemaEnv(ir);
  const checks = new FastChecks(env);
  const patterns: string[] = [];
  const byOperation = new Map<string, [string, string][]>();
  const called = new Set<string>();
  const use = (node: FastNode) => node.calls.forEach((name) => called.add(name));
  for (const op of ir.operations) {
    const fields: [string, string][] = [];
    for (const [loc, field] of FAST_PARAM_FIELDS) {
      const params = parametersIn(op, loc);
      // The parameters zod.ts validates as they come: no coercion, default or query regrouping.
      if (params.some((p) => coercion(ir, p) !== 'lvp.any' || (loc === 'query' && (p.style === 'deepObject' || spreads(ir, p))))) continue;
      if (!params.length) {
        fields.push([field, 'lv_no_params']);
        continue;
      }
      const node = checks.params(params.map((p) => ({ key: parameterKey(p), schema: p.schema, required: p.required })));
      if (node) (use(node), fields.push([field, fastFunction(node, patterns)]));
    }
    const first = op.requestBody?.contents[0];
    const node = first && !isBinaryContent(first) ? checks.schema(first.schema) : null;
    if (node) {
      use(node);
      const ref = isObj(first!.schema) && typeof first!.schema.$ref === 'string' ? env.component(first!.schema.$ref) : undefined;
      // A required body that is a component's object check is that check itself.
      if (ref && op.requestBody!.required && !node.test) fields.push(['fastBody', `${CHECKS}.${ref.identifier}`]);
      else fields.push(['fastBody', fastFunction(node, patterns, !op.requestBody!.required)]);
    }
    byOperation.set(op.identifier, fields);
  }
  const components = checks.closure(called).map((c) => [c.identifier, fastFunction(checks.component(c)!, patterns)] as [string, string]);
  return { byOperation, components, patterns, shared: shareRepeatedChecks(byOperation) };
}

/**
 * Operations with the same parameters (an Idempotency-Key header, an id in the path) get the same
 * check: each function text written out more than once becomes one `lv_fast_same` entry, and the
 * operations name that entry instead of repeating the function.
 */
function shareRepeatedChecks(byOperation: Map<string, [string, string][]>): string[] {
  const isFunction = (code: string) => code.startsWith('(');
  const uses = new Map<string, number>();
  for (const fields of byOperation.values()) {
    for (const [, code] of fields) if (isFunction(code)) uses.set(code, (uses.get(code) ?? 0) + 1);
  }
  const shared = [...uses].filter(([, n]) => n > 1).map(([code]) => code);
  const index = new Map(shared.map((code, i) => [code, i]));
  for (const fields of byOperation.values()) {
    fields.forEach((field, i) => {
      const at = index.get(field[1]);
      // `!`: under noUncheckedIndexedAccess an index is `| undefined`, which exactOptionalPropertyTypes refuses for `fastX?`.
      if (at !== undefined) fields[i] = [field[0], `${SHARED}[${at}]!`];
    });
  }
  return shared;
}

/** A query parameter zod.ts gathers from several keys (an exploded form object). */
function spreads(ir: IrDocument, p: IrParameter): boolean {
  return p.style === 'form' && p.explode !== false && kindOf(ir, p.schema) === 'object';
}

function writeFastChecks(w: CodeBlockWriter, fast: FastChecksCode): void {
  if (fast.patterns.length) {
    w.writeLine('/** The patterns the fast checks test (created once). */');
    w.writeLine(`const lv_fast_re: RegExp[] = [${fast.patterns.join(', ')}];`);
  }
  if (fast.shared.length) {
    w.writeLine('/** Checks several operations share (same parameters or body). */');
    w.writeLine(`const ${SHARED}: lv_check[] = [`);
    w.indent(() => fast.shared.forEach((fn) => w.writeLine(`${fn},`)));
    w.writeLine('];');
  }
  if (!fast.components.length) return;
  w.writeLine('interface lv_fast_checks {');
  w.indent(() => fast.components.forEach(([id]) => w.writeLine(`${id}: lv_check;`)));
  w.writeLine('}');
  w.writeLine("/** Fast checks of the components request bodies use: what the component's parse would give, or lv_no. */");
  w.writeLine(`const ${CHECKS}: lv_fast_checks = {`);
  w.indent(() => fast.components.forEach(([id, fn]) => w.writeLine(`${id}: ${fn},`)));
  w.writeLine('};');
  w.blankLine();
}

/** Code placed where a z.ZodType is declared goes through `lv.is` (a component ref already is one). */
function slot(code: string): string {
  return /^\$\.\w+$/.test(code) ? code : `lv.is(${code})`;
}

function writeMap(w: CodeBlockWriter, key: string, entries: [string, string][]): void {
  if (!entries.length) return void w.writeLine(`${key}: {},`);
  w.writeLine(`${key}: {`);
  w.indent(() => entries.forEach(([k, code]) => w.writeLine(`${str(k)}: ${code},`)));
  w.writeLine('},');
}

function bodyCode(ir: IrDocument, op: IrOperation, contentType: string): string {
  const m = op.requestBody!.contents.find((c) => c.contentType === contentType)!;
  const code = isBinaryContent(m) ? 'z.any()' : zodCode(m.schema, schemaEnv(ir));
  return op.requestBody!.required ? code : `${code}.optional()`;
}

function parameterObject(ir: IrDocument, op: IrOperation, loc: ParameterLocation): string {
  const params = parametersIn(op, loc);
  if (!params.length) return 'lvp.params({})';
  const env = schemaEnv(ir);
  const fields = params.map((p) => {
    const required = p.required || hasDefault(p.schema);
    const fn = coercion(ir, p);
    const code = zodCode(p.schema, env);
    return `${propertyKey(parameterKey(p))}: ${fn === 'lvp.any' ? code : `lvp.coerce(${fn}, ${code})`}${required ? '' : '.optional()'},`;
  });
  const object = `lvp.params({\n  ${fields.join('\n').replace(/\n/g, '\n  ')}\n})`;
  if (loc !== 'query') return object;
  const deep = params.filter((p) => p.style === 'deepObject').map((p) => p.name);
  const spread = params
    .filter((p) => p.style === 'form' && p.explode !== false && kindOf(ir, p.schema) === 'object')
    .map((p) => `[${str(p.name)}, [${objectKeys(ir, p.schema).map(str).join(', ')}]]`);
  if (!deep.length && !spread.length) return object;
  return `lvp.coerce(lvp.query([${deep.map(str).join(', ')}], [${spread.join(', ')}]), ${object})`;
}

function hasDefault(schema: JsonSchema): boolean {
  return isObj(schema) && 'default' in schema;
}

type Kind = 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'string';

/** What a string on the wire must become for this schema (component refs followed). */
function kindOf(ir: IrDocument, schema: JsonSchema): Kind {
  const s = schemaEnv(ir).deref(schema);
  if (!isObj(s)) return 'string';
  const types = Array.isArray(s.type) ? s.type : typeof s.type === 'string' ? [s.type] : [];
  const values = Array.isArray(s.enum) ? s.enum : 'const' in s ? [s.const] : null;
  if (types.includes('array') || 'items' in s) return 'array';
  if (types.includes('object') || 'properties' in s) return 'object';
  if (types.includes('number')) return 'number';
  if (types.includes('integer')) return 'integer';
  if (types.includes('boolean')) return 'boolean';
  if (values?.length && values.every((v) => typeof v === 'number' || v === null)) return 'number';
  if (values?.length && values.every((v) => typeof v === 'boolean' || v === null)) return 'boolean';
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const members = s[key];
    if (Array.isArray(members)) {
      const kinds = members.map((m) => kindOf(ir, m as JsonSchema)).filter((k) => k !== 'string');
      if (kinds.length) return kinds[0]!;
    }
  }
  return 'string';
}

function objectKeys(ir: IrDocument, schema: JsonSchema): string[] {
  const s = schemaEnv(ir).deref(schema);
  return isObj(s) && isObj(s.properties) ? Object.keys(s.properties) : [];
}

const SCALAR: Record<Kind, string> = { integer: 'lvp.int', number: 'lvp.num', boolean: 'lvp.bool', array: 'lvp.any', object: 'lvp.any', string: 'lvp.any' };
const SEPARATORS: Record<string, string> = { form: ',', simple: ',', spaceDelimited: ' ', pipeDelimited: '|', matrix: ',' };

/** The preprocess function of one parameter: style prefix, splitting, scalar coercion, default. */
function coercion(ir: IrDocument, p: IrParameter): string {
  const kind = kindOf(ir, p.schema);
  let fn = p.contentType ? 'lvp.json' : coerceValue(ir, p.schema, kind);
  if (!p.contentType && kind === 'array') {
    const s = schemaEnv(ir).deref(p.schema);
    const items = isObj(s) && (isObj(s.items) || typeof s.items === 'boolean') ? (s.items as JsonSchema) : true;
    // Exploded query arrays repeat the key, so one string is one item; otherwise split on the style's delimiter.
    const exploded = p.explode !== false;
    const sep = p.in === 'query' && exploded && p.style === 'form' ? null : separator(p.style ?? 'form', exploded);
    fn = `lvp.split(${sep === null ? 'null' : str(sep)}, ${coerceValue(ir, items, kindOf(ir, items))})`;
  }
  if (!p.contentType && kind === 'object' && p.style !== 'deepObject' && !(p.in === 'query' && p.explode !== false)) {
    fn = `lvp.pairs(${str(separator(p.style ?? 'form', false))}, ${fn})`;
  }
  if (p.in === 'path' && (p.style === 'label' || p.style === 'matrix')) fn = `lvp.path(${str(p.style)}, ${str(p.name)}, ${fn})`;
  if (isObj(p.schema) && 'default' in p.schema) fn = `lvp.default(${JSON.stringify(p.schema.default)}, ${fn})`;
  return fn;
}

function separator(style: string, exploded: boolean): string {
  if (style === 'label') return exploded ? '.' : ',';
  return SEPARATORS[style] ?? ',';
}

/** Coercion of one scalar (or an object's fields, one level deep). */
function coerceValue(ir: IrDocument, schema: JsonSchema, kind: Kind): string {
  if (kind !== 'object') return kind === 'array' ? 'lvp.any' : SCALAR[kind];
  const s = schemaEnv(ir).deref(schema);
  const props = isObj(s) && isObj(s.properties) ? Object.entries(s.properties) : [];
  const fields = props
    .map(([name, sub]) => [name, kindOf(ir, sub as JsonSchema)] as const)
    .filter(([, k]) => k === 'integer' || k === 'number' || k === 'boolean')
    .map(([name, k]) => `${propertyKey(name)}: ${SCALAR[k]}`);
  return fields.length ? `lvp.fields({ ${fields.join(', ')} })` : 'lvp.any';
}
