/**
 * Handler modules written by `init` and `generate` for tags whose identifier is a reserved word:
 * `default` (every untagged operation) and a tag called `class` gave `export const default = {`,
 * which is not TypeScript.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIr } from '../../generator/ir.js';
import { handlerModule, handlersIndex } from '../../generator/stubs.js';
import { ROOT, generateInto, scratchDir, typecheck } from './helpers.js';

const ok = { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'string' } } } } };
const SPEC = {
  openapi: '3.1.0',
  info: { title: 'tags', version: '1' },
  paths: {
    '/untagged': { get: { operationId: 'untagged', responses: ok } },
    '/class': { get: { operationId: 'listClasses', tags: ['class'], responses: ok } },
    '/proto': { get: { operationId: 'proto', tags: ['__proto__'], responses: ok } },
    '/pets': { get: { operationId: 'listPets', tags: ['pets'], responses: ok } },
  },
};

describe('handler modules for reserved tag identifiers', () => {
  it('compile, and the index assembles every tag under its key', { timeout: 300_000 }, async () => {
    const dir = scratchDir('stub-names');
    const spec = path.join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify(SPEC));
    const gen = path.join(dir, 'generated');
    await generateInto(path.relative(ROOT, spec), gen, { only: ['types', 'validators', 'routes', 'handlers'] });
    const ir = await buildIr(path.relative(ROOT, spec));
    const handlers = path.join(dir, 'handlers');
    mkdirSync(handlers);
    writeFileSync(path.join(dir, 'context.ts'), 'export interface AppContext { requestId: string }\n');
    const layout = { handlersDir: handlers, generatedDir: gen, context: { type: 'AppContext', from: path.join(dir, 'context.ts') } };
    for (const tag of ir.tagInfo) writeFileSync(path.join(handlers, `${tag.identifier}.ts`), handlerModule(ir, tag, layout));
    const index = handlersIndex(ir, layout);
    writeFileSync(path.join(handlers, 'index.ts'), index);
    expect(index).toContain('{ default: default_, class: class_, proto__, pets }');
    const framework = path.join(ROOT, 'packages/framework/src/index.ts');
    const { ok: compiled, output } = typecheck([dir, gen, handlers], 'stub-names', { paths: { '@lavendly/framework': [framework] } });
    expect(output).toBe('');
    expect(compiled).toBe(true);
  });
});
