/**
 * Refs into another file keep their siblings to themselves (test/fixtures/specs/ref-siblings).
 * swagger-parser once merged the first ref's siblings into the one inlined copy the other refs
 * point at: `{$ref: './schemas/label.yaml', description: Never null.}` became nullable because
 * another ref to the file said `nullable: true`, and took that ref's description.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSpecDocument } from '../../generator/load.js';
import { SPECS, STRICTEST, generateInto, scratchDir, typecheck } from './helpers.js';

type Schema = { safeParse(v: unknown): { success: boolean } };
type Module = { operationValidators: Record<string, { body: Schema }> };

const thing = { id: 't1' };
const valid = { maybe: thing, sure: thing, plain: thing, named: 'n', typed: 't', unnamed: 'u' };

async function generated(version: '3.0' | '3.1') {
  const dir = scratchDir(`ref-siblings-${version}`);
  const out = path.join(dir, 'out');
  await generateInto(`${SPECS}/ref-siblings/openapi-${version}.yaml`, out, { packages: path.join(dir, 'packages') });
  const types = readFileSync(path.join(out, 'types.gen.ts'), 'utf8');
  const { ok, output } = typecheck([out], `ref-siblings-${version}`, STRICTEST);
  const mod = (await import(pathToFileURL(path.join(out, 'validators.gen.ts')).href)) as Module;
  return { types, ok, output, body: mod.operationValidators.putThings!.body };
}

/** Which fields of the body take null: each alone set to null in an otherwise valid body. */
const nullable = (body: Schema, fields: string[]) => fields.filter((f) => body.safeParse({ ...valid, [f]: null }).success);

describe('siblings of a ref into another file', () => {
  it('stay beside a local ref after bundling; the copy carries none of them', async () => {
    const { root } = await loadSpecDocument(`${SPECS}/ref-siblings/openapi-3.0.yaml`);
    const props = (root.paths as any)['/things'].post.requestBody.content['application/json'].schema.properties;
    // plain has no siblings, so the copy of thing.yaml is put there, as it is.
    expect(props.plain).toEqual({ type: 'object', description: 'A thing.', required: ['id'], properties: { id: { type: 'string', minLength: 1 } } });
    const toPlain = '#/paths/~1things/post/requestBody/content/application~1json/schema/properties/plain';
    expect(props.maybe).toEqual({ $ref: toPlain, description: 'Maybe a thing.' });
    expect(props.sure).toEqual({ $ref: toPlain, nullable: true, description: 'Surely a thing or null.' });
    // Every ref to label.yaml has siblings: the copy sits under the first one's allOf, its siblings beside it.
    expect(props.named).toEqual({ nullable: true, description: 'A name or null.', allOf: [{ type: 'string', description: 'A label.', minLength: 1 }] });
    expect(props.unnamed).toEqual({ $ref: `${toPlain.replace('plain', 'named')}/allOf/0`, description: 'Never null.' });
    // tree.yaml recurses: hoisted, named after its file, the wrapper a plain ref with siblings again.
    expect(props.tree).toEqual({ $ref: '#/components/schemas/tree', nullable: true, description: 'A tree or null.' });
    expect((root.components as any).schemas.tree.properties.kids.items).toEqual({ $ref: '#/components/schemas/tree', description: 'A smaller tree.' });
    expect(JSON.stringify(root)).not.toContain('x-lavendly');
  });

  it('outside a schema (a parameter), the copy takes the siblings of the first ref, as before: allOf means nothing there', async () => {
    const dir = scratchDir('ref-siblings-params');
    writeFileSync(path.join(dir, 'params.yaml'), 'Limit: {name: limit, in: query, description: How many., schema: {type: integer}}\n');
    const op = (id: string, text: string) => `    get:\n      operationId: ${id}\n      parameters: [{$ref: './params.yaml#/Limit', description: ${text}}]\n      responses: {'204': {description: ok}}\n`;
    writeFileSync(path.join(dir, 'openapi.yaml'), `openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n${op('getX', 'X.')}  /y:\n${op('getY', 'Y.')}`);
    const { root } = await loadSpecDocument(path.join(dir, 'openapi.yaml'));
    const paths = root.paths as any;
    expect(paths['/x'].get.parameters).toEqual([{ name: 'limit', in: 'query', description: 'X.', schema: { type: 'integer' } }]);
    expect(paths['/y'].get.parameters).toEqual([{ $ref: '#/paths/~1x/get/parameters/0', description: 'Y.' }]);
  });

  it('3.0: nullable and descriptions only where written; strict types; validators take null only there', { timeout: 300_000 }, async () => {
    const { types, ok, output, body } = await generated('3.0');
    expect(output).toBe('');
    expect(ok).toBe(true);
    expect(types).toContain('/** Maybe a thing. */\n    maybe: {\n      id: string;\n    };');
    expect(types).toContain('/** Surely a thing or null. */\n    sure: {\n      id: string;\n    } | null;');
    expect(types).toContain('/** A thing. */\n    plain: {\n      id: string;\n    };');
    expect(types).toContain('/** A name or null. */\n    named: string | null;');
    expect(types).toContain('/** Never null. */\n    unnamed: string;');
    expect(body.safeParse(valid).success).toBe(true);
    expect(types).toContain('/** A tree or null. */\n    tree?: Tree | null;');
    expect(nullable(body, ['maybe', 'sure', 'plain', 'named', 'unnamed', 'tree'])).toEqual(['sure', 'named', 'tree']);
    expect(body.safeParse({ ...valid, tree: { kids: [{ kids: [] }] } }).success).toBe(true);
    expect(body.safeParse({ ...valid, tree: { kids: [null] } }).success).toBe(false);
    expect(body.safeParse({ ...valid, unnamed: '' }).success).toBe(false);
  });

  it('3.1: a oneOf with null or a null type beside the ref stays on its ref', { timeout: 300_000 }, async () => {
    const { types, ok, output, body } = await generated('3.1');
    expect(output).toBe('');
    expect(ok).toBe(true);
    expect(types).toContain('/** Maybe a thing. */\n    maybe: {\n      id: string;\n    };');
    expect(types).toContain('/** A name or null. */\n    named: string | null;');
    expect(types).toContain('/** Never null. */\n    unnamed: string;');
    expect(body.safeParse(valid).success).toBe(true);
    // `typed` narrows label.yaml (a string) by allOf, as JSON Schema reads a sibling of $ref: never null either.
    expect(nullable(body, ['maybe', 'sure', 'named', 'typed', 'unnamed'])).toEqual(['sure', 'named']);
  });
});
