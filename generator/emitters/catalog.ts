/**
 * catalog.gen.ts: the operation catalog that `GET /_schema` serves. Plain JSON (no functions), so
 * the server can send it as is. Component schemas stay `$ref`s and the referenced components are
 * carried under `components.schemas`, so the document is self-contained (`#/components/schemas/X`
 * resolves inside it) and recursive schemas stay finite.
 */
import type { IrDocument, IrOperation, JsonSchema } from '../ir-types.js';
import { schemaRefName } from '../schema/refs.js';
import type { Emitter } from '../shared/emitter.js';
import { prelude } from '../shared/preludes.js';
import { schemaEnv } from '../shared/source.js';

export const emitter: Emitter = {
  name: 'catalog',
  file: 'catalog.gen.ts',
  emit(ir, ctx) {
    const catalog = buildCatalog(ir);
    return [
      ctx.banner('catalog.gen.ts'),
      prelude('catalog.ts', 'types'),
      '',
      '/**',
      ' * Every operation of the API, as `GET /_schema` serves it. Parsed from JSON text, not written as',
      ' * an object literal: tsc would infer and check the whole literal against `Catalog` (minutes',
      ' * on a spec the size of GitHub\'s); a string costs it nothing and JSON.parse is fast.',
      ' */',
      `export const catalog: Catalog = JSON.parse(${jsonTemplate(catalog)}) as Catalog;`,
      '',
    ].join('\n');
  },
};

export function buildCatalog(ir: IrDocument): Record<string, unknown> {
  const operations = ir.operations.map(catalogOperation);
  return {
    title: ir.title,
    version: ir.version,
    ...(ir.description !== undefined ? { description: ir.description } : {}),
    openapi: ir.openapiVersion,
    server_url: ir.serverUrl,
    base_path: ir.basePath,
    operations,
    components: { schemas: reachableSchemas(ir, operations) },
  };
}

function catalogOperation(op: IrOperation): Record<string, unknown> {
  const body = op.requestBody;
  const primary = body?.contents[0];
  const responses: Record<string, unknown> = {};
  for (const r of op.responses) {
    const c = r.contents[0];
    responses[r.status] = { description: r.description, content_type: c?.contentType ?? null, schema: c ? c.schema : null };
  }
  return {
    operation_id: op.operationId,
    method: op.method,
    path: op.path,
    tag: op.tag,
    ...(op.summary !== undefined ? { summary: op.summary } : {}),
    ...(op.description !== undefined ? { description: op.description } : {}),
    deprecated: op.deprecated,
    secured: op.secured,
    scopes: op.scopes,
    idempotent: op.idempotent,
    pagination: op.pagination,
    charges_credits: op.chargesCredits,
    async_job: op.asyncJob
      ? { poll: op.asyncJob.poll, args: op.asyncJob.args, status_field: op.asyncJob.statusField, terminal: op.asyncJob.terminal }
      : null,
    mcp_tools: op.mcpTools.map((t) => t.name),
    parameters: op.parameters.map((p) => ({
      name: p.name,
      in: p.in,
      required: p.required,
      ...(p.description !== undefined ? { description: p.description } : {}),
      schema: p.schema,
    })),
    request_body:
      body && primary
        ? {
            required: body.required,
            ...(body.description !== undefined ? { description: body.description } : {}),
            content_type: primary.contentType,
            content_types: body.contents.map((c) => c.contentType),
            schema: primary.schema,
          }
        : null,
    responses,
  };
}

/** Component schemas referenced (transitively) from the operations, in spec order. */
function reachableSchemas(ir: IrDocument, operations: unknown): Record<string, JsonSchema> {
  const env = schemaEnv(ir);
  const seen = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') refTo(value);
      else if (key === 'mapping' && value && typeof value === 'object') Object.values(value).forEach((v) => typeof v === 'string' && refTo(v));
      else visit(value);
    }
  };
  const refTo = (ref: string): void => {
    const name = schemaRefName(ref);
    if (name === null || seen.has(name)) return;
    seen.add(name);
    const c = env.byName.get(name);
    if (c) visit(c.schema);
  };
  visit(operations);
  const out: Record<string, JsonSchema> = {};
  for (const c of ir.schemas) if (seen.has(c.name)) out[c.name] = c.schema;
  return out;
}

/**
 * A JSON value as a TS literal in the house style (bare keys where possible, single quotes),
 * one property per line so that a changed schema shows as a small diff.
 */
/**
 * `value` as indented JSON inside a template literal (one line per JSON line, so diffs stay
 * readable): `\`, `` ` `` and `${` are escaped, so the template's value is exactly the JSON text.
 */
export function jsonTemplate(value: unknown): string {
  const json = JSON.stringify(value, null, 2);
  return '`' + json.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${') + '`';
}

