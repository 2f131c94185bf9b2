/**
 * Schemas that recurse across files (test/fixtures/specs/cross-file-cycles: node.yaml refers to
 * itself and to branch.yaml, which refers back) are made components when the spec is bundled,
 * named after their files, so they generate as named recursive types and validators. Before,
 * the bundler left them as refs into `#/paths/...` and generate refused the cycle.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hoistCycles, isSchemaPointer, type Origin } from '../../generator/bundle-cycles.js';
import { loadSpecDocument } from '../../generator/load.js';
import { ROOT, SPECS, STRICTEST, generateInto, scratchDir, typecheck } from './helpers.js';

const FIXTURE = `${SPECS}/cross-file-cycles/a.yaml`;

type Issue = { path: (string | number)[] };
type Schema = { safeParse(v: unknown): { success: boolean; error?: { issues: Issue[] } } };
type Module = { operationValidators: Record<string, { body: Schema; responses: Record<string, Schema> }> };

describe('schemas that recurse across files', () => {
  it('become components named after their files; a taken name gets the folder in front', async () => {
    const { root } = await loadSpecDocument(FIXTURE);
    const schemas = (root.components as { schemas: Record<string, any> }).schemas;
    expect(Object.keys(schemas)).toEqual(['branch', 'schemas_branch', 'node']);
    expect(schemas.node.properties.children.items).toEqual({ $ref: '#/components/schemas/node' });
    expect(schemas.node.properties.branch).toEqual({ $ref: '#/components/schemas/schemas_branch' });
    expect(schemas.schemas_branch.properties.leaves.items).toEqual({ $ref: '#/components/schemas/node' });
    const paths = root.paths as Record<string, any>;
    expect(paths['/trees'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/node' });
    expect(paths['/trees'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/node' });
    expect(JSON.stringify(root)).not.toContain('"#/paths');
  });

  it('the same names whichever file the bundler met first', async () => {
    // Same files, the operations in the other order: the bundler inlines branch.yaml first.
    const dir = scratchDir('cross-file-order');
    cpSync(path.join(ROOT, SPECS, 'cross-file-cycles'), dir, { recursive: true });
    const text = readFileSync(path.join(dir, 'a.yaml'), 'utf8');
    const trees = text.slice(text.indexOf('  /trees:'), text.indexOf('  /branches:'));
    writeFileSync(path.join(dir, 'a.yaml'), text.replace(trees, '').replace('components:', `${trees}components:`));
    const { root } = await loadSpecDocument(path.join(dir, 'a.yaml'));
    expect(Object.keys((root.components as { schemas: object }).schemas)).toEqual(['branch', 'schemas_branch', 'node']);
  });

  it('generate named recursive types that compile strictly, and validators that walk the tree', { timeout: 300_000 }, async () => {
    const dir = scratchDir('cross-file-cycles');
    const out = path.join(dir, 'out');
    await generateInto(FIXTURE, out, { packages: path.join(dir, 'packages') });
    const types = readFileSync(path.join(out, 'types.gen.ts'), 'utf8');
    expect(types).toContain('children?: Node[];');
    expect(types).toContain('branch?: SchemasBranch;');
    expect(types).toContain('leaves: Node[];');
    const { ok, output } = typecheck([out], 'cross-file-cycles', STRICTEST);
    expect(output).toBe('');
    expect(ok).toBe(true);

    const mod = (await import(pathToFileURL(path.join(out, 'validators.gen.ts')).href)) as Module;
    const body = mod.operationValidators.putTree!.body;
    const tree = { name: 'root', children: [{ name: 'a', branch: { weight: 1, leaves: [{ name: 'leaf', children: [] }] } }] };
    expect(body.safeParse(tree).success).toBe(true);
    const badLeaf = structuredClone(tree);
    badLeaf.children[0]!.branch.leaves[0]!.name = '';
    const r = body.safeParse(badLeaf);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path)).toEqual([['children', 0, 'branch', 'leaves', 0, 'name']]);
  });

  it('same-named files: folders in front, nearest first, then a number; a cycle through a properties map hoists the schema', () => {
    const media = (schema: object) => ({ content: { 'application/json': { schema } } });
    const root: any = {
      paths: {
        '/a': { get: { responses: { 200: media({ type: 'object', properties: { next: { $ref: '#/paths/~1a/get/responses/200/content/application~1json/schema' } } }) } } },
        '/b': { get: { responses: { 200: media({ type: 'array', items: { $ref: '#/paths/~1b/get/responses/200/content/application~1json/schema' } }) } } },
        '/c': { get: { responses: { 200: media({ type: 'object', properties: { up: { $ref: '#/paths/~1c/get/responses/200/content/application~1json/schema' } } }) } } },
        // A properties map named by reference that leads back to its schema: the map is not a schema.
        '/d': { get: { responses: { 200: media({ type: 'object', properties: { kids: { type: 'object', properties: { again: { $ref: '#/paths/~1d/get/responses/200/content/application~1json/schema' } } }, more: { properties: { $ref: '#/paths/~1d/get/responses/200/content/application~1json/schema/properties/kids/properties' } } } }) } } },
      },
      components: { schemas: { node: { type: 'string' } } },
    };
    const files: Record<string, Origin> = {
      '/a': { file: '/api/v1/node.yaml', pointer: '' },
      '/b': { file: '/api/v2/node.yaml', pointer: '' },
      '/c': { file: '/api/v2/models/node.yaml', pointer: '' },
      '/d': { file: '/api/tree.yaml', pointer: '/definitions/Tree' },
    };
    const originOf = (at: string) => files[Object.keys(files).find((p) => at.startsWith(`#/paths/~1${p.slice(1)}/`))!];
    expect(hoistCycles(root, originOf, '/api')).toEqual(['Tree', 'v1_node', 'models_node', 'v2_node']);
    expect(root.paths['/a'].get.responses[200].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/v1_node' });
    expect(root.components.schemas.v1_node.properties.next).toEqual({ $ref: '#/components/schemas/v1_node' });
    expect(root.components.schemas.v2_node.items).toEqual({ $ref: '#/components/schemas/v2_node' });
    expect(root.components.schemas.Tree.properties.more.properties).toEqual({ $ref: '#/components/schemas/Tree/properties/kids/properties' });
    expect(Object.keys(root.components.schemas)).toEqual(['node', 'Tree', 'v1_node', 'models_node', 'v2_node']);
  });

  it('tells schema places from maps, examples and operations', () => {
    const schema = '#/paths/~1a/get/responses/200/content/application~1json/schema';
    expect(isSchemaPointer(schema)).toBe(true);
    expect(isSchemaPointer(`${schema}/properties/children/items`)).toBe(true);
    expect(isSchemaPointer(`${schema}/properties/properties`)).toBe(true);
    expect(isSchemaPointer(`${schema}/allOf/0/properties/x/additionalProperties`)).toBe(true);
    expect(isSchemaPointer('#/components/schemas/A/properties/b')).toBe(true);
    expect(isSchemaPointer(`${schema}/properties`)).toBe(false);
    expect(isSchemaPointer(`${schema}/example/items`)).toBe(false);
    expect(isSchemaPointer('#/paths/~1a/get')).toBe(false);
    expect(isSchemaPointer('#/components/schemas')).toBe(false);
  });
});
