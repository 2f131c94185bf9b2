/**
 * types.gen.ts: one type per component schema, and per operation `<Op>Input` (what a handler
 * receives after parsing) and `<Op>Result` (what it may return: the 2xx responses).
 * `Operations` maps operation identifiers to both, for generic code (router, SDK).
 */
import type { IrDocument, IrMediaBody, IrOperation } from '../ir-types.js';
import { propertyKey } from '../names.js';
import { docComment, tsNode, tsType } from '../schema/ts.js';
import type { Emitter } from '../shared/emitter.js';
import { isWildcardMediaType, parsedAsJson } from '../media-types.js';
import {
  formPlanOf, isBinaryContent, parameterKey, parametersIn, primaryContent, schemaEnv, statusType, successResponses, writeSource,
  type ParameterLocation,
} from '../shared/source.js';

const STREAM = "import('node:stream').Readable";
const RESPONSE_BINARY = `${STREAM} | import('node:buffer').Buffer | string`;

export const emitter: Emitter = {
  name: 'types',
  file: 'types.gen.ts',
  emit(ir, ctx) {
    const env = schemaEnv(ir);
    return writeSource((w) => {
      w.write(ctx.banner('types.gen.ts'));
      w.blankLine();
      for (const c of ir.schemas) {
        const s = typeof c.schema === 'object' ? c.schema : {};
        w.write(docComment(s.description ?? (c.name !== c.identifier ? `Schema "${c.name}".` : undefined), s.deprecated === true));
        w.writeLine(`export type ${c.identifier} = ${tsType(c.schema, env, { binary: 'unknown' })};`);
        w.blankLine();
      }
      for (const op of ir.operations) {
        w.write(docComment(`${op.method.toUpperCase()} ${op.path}${op.summary ? `: ${op.summary}` : ''}`, op.deprecated));
        w.writeLine(`export interface ${op.typeName}Input {`);
        w.indent(() => {
          for (const loc of ['path', 'query', 'header'] as ParameterLocation[]) {
            w.writeLine(`${loc === 'header' ? 'headers' : loc}: ${parameterObject(ir, op, loc)};`);
          }
          w.writeLine(`body: ${requestBodyType(ir, op)};`);
        });
        w.writeLine('}');
        w.blankLine();
        w.writeLine(`export type ${op.typeName}Result =`);
        w.indent(() => {
          const members = resultMembers(ir, op);
          members.forEach((m, i) => w.writeLine(`| ${m}${i === members.length - 1 ? ';' : ''}`));
        });
        w.blankLine();
      }
      w.writeLine('/** Every operation by identifier: its parsed input and its success results. */');
      w.writeLine('export interface Operations {');
      w.indent(() => {
        for (const op of ir.operations) w.writeLine(`${op.identifier}: { input: ${op.typeName}Input; result: ${op.typeName}Result };`);
      });
      w.writeLine('}');
      w.blankLine();
      w.writeLine('export type OperationId = keyof Operations;');
    });
  },
};

function parameterObject(ir: IrDocument, op: IrOperation, loc: ParameterLocation): string {
  const params = parametersIn(op, loc);
  if (!params.length) return '{ [key: string]: never }';
  const env = schemaEnv(ir);
  const lines = params.map((p) => {
    const optional = p.required || hasDefault(p.schema) ? '' : '?';
    return `${docComment(p.description)}${propertyKey(parameterKey(p))}${optional}: ${tsType(p.schema, env, { binary: 'unknown' })};`;
  });
  return `{\n  ${lines.join('\n').replace(/\n/g, '\n  ')}\n}`;
}

function hasDefault(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && 'default' in schema;
}

/**
 * What the runtime hands the handler: a JSON body parsed and validated, a form body it decodes
 * (form-plan.ts) decoded and validated, each as its schema's type; any other declared type as the
 * request stream (media-types.ts), so an operation taking both gets the union and has to tell them apart.
 */
function requestBodyType(ir: IrDocument, op: IrOperation): string {
  const contents = op.requestBody?.contents ?? [];
  if (!op.requestBody || !contents.length) return op.requestBody ? 'unknown' : 'undefined';
  const form = (c: IrMediaBody) => formPlanOf(ir, c) !== null;
  const json = contents.find((c) => !isBinaryContent(c) && (parsedAsJson(c.contentType) || isWildcardMediaType(c.contentType)));
  const parsed = [...(json ? [json] : []), ...contents.filter(form)];
  const types = [...new Set(parsed.map((c) => tsNode(c.schema, schemaEnv(ir), { binary: 'stream' }).text))];
  if (contents.some((c) => !parsedAsJson(c.contentType) && !form(c))) types.push(STREAM);
  const text = types.join(' | ');
  return op.requestBody.required ? text : `${text} | undefined`;
}

function resultMembers(ir: IrDocument, op: IrOperation): string[] {
  const responses = successResponses(op);
  if (!responses.length) return ['{ status: number; body?: unknown; headers?: { [name: string]: string } }'];
  return responses.map((r) => {
    const content = primaryContent(r.contents);
    let body = 'body?: undefined';
    if (content) {
      const type = isBinaryContent(content) ? RESPONSE_BINARY : tsNode(content.schema, schemaEnv(ir), { binary: 'unknown' }).text;
      body = `body: ${type}`;
    }
    return `{ status: ${statusType(r.status)}; ${body}; headers?: { [name: string]: string } }`;
  });
}
