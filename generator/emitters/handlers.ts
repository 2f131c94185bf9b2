/**
 * handlers.gen.ts: `Handlers<Ctx>`, one slice per tag. Members are function-typed properties (not
 * methods) so strictFunctionTypes applies: a handler taking the wrong input fails tsc.
 */
import { docComment } from '../schema/ts.js';
import type { Emitter } from '../shared/emitter.js';
import { writeSource } from '../shared/source.js';

export const emitter: Emitter = {
  name: 'handlers',
  file: 'handlers.gen.ts',
  emit(ir, ctx) {
    return writeSource((w) => {
      w.write(ctx.banner('handlers.gen.ts'));
      // A spec without operations has no input types to import and no handler reading Ctx
      // (underscored for noUnusedParameters): the file still compiles under noUnused* flags.
      const ops = ir.operations.length > 0;
      if (ops) {
        w.writeLine(`import type * as T from '${ctx.sibling('types.gen.ts')}';`);
        w.blankLine();
      }
      for (const tag of ir.tagInfo) {
        w.write(docComment(tag.description ?? `Operations tagged "${tag.name}".`));
        w.writeLine(`export interface ${tag.typeName}Handlers<Ctx> {`);
        w.indent(() => {
          for (const op of ir.operations.filter((o) => o.tag === tag.name)) {
            w.write(docComment(`${op.method.toUpperCase()} ${op.path}${op.summary ? `: ${op.summary}` : ''}`, op.deprecated));
            w.writeLine(`${op.identifier}: (input: T.${op.typeName}Input, ctx: Ctx) => Promise<T.${op.typeName}Result>;`);
          }
        });
        w.writeLine('}');
        w.blankLine();
      }
      w.writeLine('/** Every operation\'s handler, one slice per tag; the app passes this to `mountRoutes`. */');
      w.writeLine(`export interface Handlers<${ops ? 'Ctx' : '_Ctx'}> {`);
      w.indent(() => ir.tagInfo.forEach((t) => w.writeLine(`${t.identifier}: ${t.typeName}Handlers<Ctx>;`)));
      w.writeLine('}');
    });
  },
};
