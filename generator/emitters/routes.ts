/**
 * routes.gen.ts: `operations` (metadata per operation), the `RouteRuntime<Ctx>` seam that the
 * hand-written runtime implements (auth, parsing, serialising), and `mountRoutes`, which registers
 * every operation on a @koa/router with its typed handler. Paths are relative to `basePath`.
 */
import type { IrOperation } from '../ir-types.js';
import type { Emitter } from '../shared/emitter.js';
import { prelude } from '../shared/preludes.js';
import { routerPath, statusCodes, str, successResponses, writeSource } from '../shared/source.js';

export const emitter: Emitter = {
  name: 'routes',
  file: 'routes.gen.ts',
  emit(ir, ctx) {
    return writeSource((w) => {
      w.write(ctx.banner('routes.gen.ts'));
      w.writeLine("import type Router from '@koa/router';");
      w.writeLine("import type { Middleware } from 'koa';");
      w.writeLine(`import type { Handlers } from '${ctx.sibling('handlers.gen.ts')}';`);
      w.writeLine(`import type * as T from '${ctx.sibling('types.gen.ts')}';`);
      w.writeLine(`import { operationValidators, type OperationValidators } from '${ctx.sibling('validators.gen.ts')}';`);
      w.blankLine();
      w.writeLine('/** Path of the first server URL; mount the router under it (`new Router({ prefix: basePath })`). */');
      w.writeLine(`export const basePath = ${str(ir.basePath)};`);
      w.blankLine();
      w.writeLine(prelude('routes.ts', 'declarations'));
      w.blankLine();
      w.writeLine('export const operations: { [K in T.OperationId]: OperationMeta } = {');
      w.indent(() => ir.operations.forEach((op) => w.writeLine(`${op.identifier}: ${metaLiteral(op)},`)));
      w.writeLine('};');
      w.blankLine();
      w.writeLine("type Call<Ctx, K extends T.OperationId> = (input: T.Operations[K]['input'], ctx: Ctx) => Promise<T.Operations[K]['result']>;");
      w.blankLine();
      w.writeLine('/** Registers every operation on `router`; a missing or mistyped handler is a compile error. */');
      // Without operations nothing reads `handlers`: underscored, so noUnusedParameters lets it be.
      const handlers = ir.operations.length ? 'handlers' : '_handlers';
      w.writeLine(`export function mountRoutes<Ctx>(router: Router<any, any>, ${handlers}: Handlers<Ctx>, rt: RouteRuntime<Ctx>): void {`);
      w.indent(() => {
        // One table, not one statement per operation: tsc's flow analysis is quadratic in statements.
        w.writeLine('const calls: { [K in T.OperationId]: Call<Ctx, K> } = {');
        w.indent(() => {
          for (const op of ir.operations) {
            w.writeLine(`${op.identifier}: (input, c) => handlers.${op.tagIdentifier}.${op.identifier}(input, c),`);
          }
        });
        w.writeLine('};');
        w.writeLine('const route = <K extends T.OperationId>(id: K): void => {');
        w.writeLine('  const meta = operations[id];');
        w.writeLine('  const v = operationValidators[id];');
        w.writeLine('  const call: Call<Ctx, K> = calls[id];');
        w.writeLine('  router.register(meta.routerPath, [meta.method.toUpperCase()], rt.operation(meta, v, call), { name: meta.operationId });');
        w.writeLine('};');
        w.writeLine('for (const id of Object.keys(calls) as T.OperationId[]) route(id);');
      });
      w.writeLine('}');
    });
  },
};

function metaLiteral(op: IrOperation): string {
  const success = [...new Set(successResponses(op).flatMap((r) => statusCodes(r.status)))];
  const job = op.asyncJob;
  const fields = [
    `operationId: ${str(op.operationId)}`,
    `identifier: ${str(op.identifier)}`,
    `method: ${str(op.method)}`,
    `path: ${str(op.path)}`,
    `routerPath: ${str(routerPath(op.path))}`,
    `tag: ${str(op.tag)}`,
    `tagIdentifier: ${str(op.tagIdentifier)}`,
    `idempotent: ${op.idempotent}`,
    `scopes: [${op.scopes.map(str).join(', ')}]`,
    `secured: ${op.secured}`,
    `pagination: ${op.pagination ? str(op.pagination) : 'null'}`,
    `chargesCredits: ${op.chargesCredits}`,
    `asyncJob: ${job ? `{ poll: ${str(job.poll)}, args: ${JSON.stringify(job.args)}, statusField: ${str(job.statusField)}, terminal: [${job.terminal.map(str).join(', ')}] }` : 'null'}`,
    `requestContentTypes: [${(op.requestBody?.contents ?? []).map((c) => str(c.contentType)).join(', ')}]`,
    `successStatuses: [${success.join(', ')}]`,
  ];
  return `{ ${fields.join(', ')} }`;
}
