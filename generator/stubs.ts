/**
 * Hand-written handler modules, one per tag (`handlers/pets.ts`):
 *   export const pets = { async listPets(input, ctx) {...}, ... } satisfies PetsHandlers<AppContext>;
 * `init` writes them whole; `generate` adds a typed stub method for each operation the module
 * lacks. That edit is found with ts-morph (the object literal under `satisfies <Tag>Handlers<...>`)
 * and made by inserting text before its closing brace, so every existing line stays byte-identical.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { IrDocument, IrOperation, IrTag } from './ir-types.js';
import { NameAllocator, toIdentifier } from './names.js';

export const FRAMEWORK_PACKAGE = '@lavendly/framework';

export interface HandlerLayout {
  /** Folder of the handler modules. */
  handlersDir: string;
  /** Folder of the generated files. */
  generatedDir: string;
  /** The handler context type and the module it comes from (relative to the project root). */
  context: { type: string; from: string };
}

/** `../generated/types.gen.js` as written in a file of `fromDir`. */
function importPath(fromDir: string, target: string): string {
  let rel = path.relative(fromDir, target).split(path.sep).join('/');
  if (!rel.startsWith('.')) rel = './' + rel;
  return rel.replace(/\.ts$/, '.js');
}

export function stubMethod(op: IrOperation, ctxType: string, indent = '  '): string {
  return [
    `${indent}/** ${op.method.toUpperCase()} ${op.path}${op.summary ? `: ${op.summary.replace(/\*\//g, '* /').split('\n')[0]}` : ''} */`,
    `${indent}async ${op.identifier}(input: T.${op.typeName}Input, ctx: ${ctxType}): Promise<T.${op.typeName}Result> {`,
    `${indent}  void input;`,
    `${indent}  void ctx;`,
    `${indent}  throw new NotImplementedError(${JSON.stringify(op.operationId)});`,
    `${indent}},`,
  ].join('\n');
}

/**
 * The const each tag's module exports, by tag name. A tag identifier may be a reserved word (the
 * `default` of untagged operations, a tag called `class`): fine as a key of `Handlers`, not as a
 * variable, so those get a trailing underscore (`export const default_`), unique across tags.
 */
function moduleVars(ir: IrDocument): Map<string, string> {
  const names = new NameAllocator();
  return new Map(ir.tagInfo.map((t) => [t.name, names.take(toIdentifier(t.identifier))]));
}

function opsOf(ir: IrDocument, tag: IrTag): IrOperation[] {
  return ir.operations.filter((o) => o.tag === tag.name);
}

/** A whole new module for a tag. */
export function handlerModule(ir: IrDocument, tag: IrTag, layout: HandlerLayout): string {
  const dir = layout.handlersDir;
  return [
    `/** Handlers for the "${tag.name}" operations. \`generate\` adds a stub here for each new operation. */`,
    `import { NotImplementedError } from '${FRAMEWORK_PACKAGE}';`,
    `import type { ${tag.typeName}Handlers } from '${importPath(dir, path.join(layout.generatedDir, 'handlers.gen.ts'))}';`,
    `import type * as T from '${importPath(dir, path.join(layout.generatedDir, 'types.gen.ts'))}';`,
    `import type { ${layout.context.type} } from '${importPath(dir, layout.context.from)}';`,
    '',
    `export const ${moduleVars(ir).get(tag.name)} = {`,
    ...opsOf(ir, tag).map((op) => stubMethod(op, layout.context.type)),
    `} satisfies ${tag.typeName}Handlers<${layout.context.type}>;`,
    '',
  ].join('\n');
}

/** `handlers/index.ts`: every tag's module assembled into the `Handlers` the routes take. */
export function handlersIndex(ir: IrDocument, layout: HandlerLayout): string {
  const dir = layout.handlersDir;
  const vars = moduleVars(ir);
  // `{ pets }`, `{ default: default_ }` (tag identifiers are valid keys, `__proto__` never among them).
  const member = (key: string, name: string) => (key === name ? name : `${key}: ${name}`);
  return [
    `import type { Handlers } from '${importPath(dir, path.join(layout.generatedDir, 'handlers.gen.ts'))}';`,
    `import type { ${layout.context.type} } from '${importPath(dir, layout.context.from)}';`,
    ...ir.tagInfo.map((t) => `import { ${vars.get(t.name)} } from './${t.identifier}.js';`),
    '',
    `export const handlers: Handlers<${layout.context.type}> = { ${ir.tagInfo.map((t) => member(t.identifier, vars.get(t.name)!)).join(', ')} };`,
    '',
  ].join('\n');
}

export interface StubEdit {
  file: string;
  /** operationIds given a stub. */
  added: string[];
  created: boolean;
}

/**
 * Adds the missing stubs to `text` (a tag's module). Returns the new text, or null when nothing
 * is missing. Throws when the module has no `{ ... } satisfies <Tag>Handlers<...>` object.
 */
export async function insertStubs(text: string, fileName: string, tag: IrTag, ops: IrOperation[], layout: HandlerLayout): Promise<{ text: string; added: string[] } | null> {
  const { Project, SyntaxKind, Node } = await import('ts-morph');
  const project = new Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true });
  const sf = project.createSourceFile('module.ts', text);
  const target = sf.getDescendantsOfKind(SyntaxKind.SatisfiesExpression).find((s) => s.getTypeNode()?.getText().startsWith(`${tag.typeName}Handlers`));
  const obj = target?.getExpression();
  if (!target || !obj || !Node.isObjectLiteralExpression(obj)) {
    throw new Error(`${fileName}: no \`{ ... } satisfies ${tag.typeName}Handlers<...>\` object to add stubs to`);
  }
  const have = new Set(obj.getProperties().map((p) => (Node.isMethodDeclaration(p) || Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p) ? p.getName() : '')));
  const missing = ops.filter((op) => !have.has(op.identifier));
  if (!missing.length) return null;
  const typeArgs = target.getTypeNode()?.getText().match(/<(.*)>$/s);
  const ctxType = typeArgs?.[1]?.trim() || 'unknown';
  const edits: { at: number; insert: string }[] = [];
  // Before the line holding the object's closing brace, indented like the existing members.
  const closeAt = obj.getEnd() - 1;
  const lineStart = text.lastIndexOf('\n', closeAt - 1) + 1;
  const props = obj.getProperties();
  const last = props[props.length - 1];
  const indent = last ? text.slice(text.lastIndexOf('\n', last.getStart() - 1) + 1, last.getStart()).replace(/\S.*$/s, '') : '  ';
  const stubs = missing.map((op) => stubMethod(op, ctxType, indent)).join('\n') + '\n';
  if (last && !/^\s*,/.test(text.slice(last.getEnd(), closeAt))) edits.push({ at: last.getEnd(), insert: ',' }); // the one unavoidable change
  if (text.slice(lineStart, closeAt).trim() === '') edits.push({ at: lineStart, insert: stubs });
  else edits.push({ at: closeAt, insert: '\n' + stubs }); // `{ }` on one line
  // Imports the stubs need, after the last import (new lines only).
  const imports = sf.getImportDeclarations();
  const needed: string[] = [];
  if (!imports.some((d) => d.getNamespaceImport()?.getText() === 'T')) {
    needed.push(`import type * as T from '${importPath(layout.handlersDir, path.join(layout.generatedDir, 'types.gen.ts'))}';`);
  }
  if (!imports.some((d) => d.getNamedImports().some((n) => (n.getAliasNode()?.getText() ?? n.getName()) === 'NotImplementedError'))) {
    needed.push(`import { NotImplementedError } from '${FRAMEWORK_PACKAGE}';`);
  }
  if (needed.length) {
    const after = imports.length ? imports[imports.length - 1]!.getEnd() : 0;
    edits.push({ at: after, insert: imports.length ? '\n' + needed.join('\n') : needed.join('\n') + '\n' });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.insert + out.slice(e.at);
  return { text: out, added: missing.map((o) => o.operationId) };
}

/** For every tag: create its module when absent, else add stubs for the operations it lacks. */
export async function syncHandlerModules(ir: IrDocument, layout: HandlerLayout, write = true): Promise<StubEdit[]> {
  const edits: StubEdit[] = [];
  for (const tag of ir.tagInfo) {
    const file = path.join(layout.handlersDir, `${tag.identifier}.ts`);
    const ops = opsOf(ir, tag);
    if (!existsSync(file)) {
      if (write) {
        await mkdir(layout.handlersDir, { recursive: true });
        await writeFile(file, handlerModule(ir, tag, layout));
      }
      edits.push({ file, added: ops.map((o) => o.operationId), created: true });
      continue;
    }
    const text = await readFile(file, 'utf8');
    const result = await insertStubs(text, file, tag, ops, layout);
    if (!result) continue;
    if (write) await writeFile(file, result.text);
    edits.push({ file, added: result.added, created: false });
  }
  return edits;
}
