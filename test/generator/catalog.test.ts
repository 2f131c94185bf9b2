/**
 * The catalog emitter: what `GET /_schema` serves must be plain, self-contained JSON that agrees
 * with the spec's own `Catalog` schema.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Ajv2020Module from 'ajv/dist/2020.js';
import { generate } from '../../generator/cli.js';
import { buildCatalog } from '../../generator/emitters/catalog.js';
import { inlineSchema } from '../../generator/emitters/mcp.js';
import { schemaEnv } from '../../generator/shared/source.js';
import { buildIr } from '../../generator/ir.js';

const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as typeof Ajv2020Module;
const FIXTURE = 'test/fixtures/sdk/things.yaml';
const SPEC = 'spec/openapi.yaml';

type Obj = Record<string, any>;
let dir: string;
let fixtureCatalog: Obj;
let specCatalog: Obj;

async function emitCatalog(spec: string, out: string): Promise<Obj> {
  await generate({ spec, out, only: ['catalog'] });
  return (await import(path.resolve(out, 'catalog.gen.ts'))).catalog;
}

beforeAll(async () => {
  // tmp/ is git-ignored, so a fresh clone does not have it; generated code lives under the repo to resolve its packages.
  await mkdir(path.resolve('tmp'), { recursive: true });
  dir = await mkdtemp(path.resolve('tmp/test-catalog-'));
  fixtureCatalog = await emitCatalog(FIXTURE, path.join(dir, 'things'));
  specCatalog = await emitCatalog(SPEC, path.join(dir, 'spec'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Every `$ref` in a document must resolve inside it. */
function unresolvedRefs(doc: Obj): string[] {
  const bad: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') {
        let target: unknown = doc;
        for (const seg of v.replace(/^#\//, '').split('/')) target = (target as Obj | undefined)?.[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
        if (target === undefined) bad.push(v);
      } else visit(v);
    }
  };
  visit(doc.operations);
  visit(doc.components);
  return bad;
}

describe('catalog emitter', () => {
  it('is plain JSON: no functions, no undefined, survives a JSON round trip', () => {
    for (const c of [fixtureCatalog, specCatalog]) expect(JSON.parse(JSON.stringify(c))).toEqual(c);
  });

  it('is self-contained: every $ref resolves inside the catalog, recursive schemas included', () => {
    expect(unresolvedRefs(fixtureCatalog)).toEqual([]);
    expect(unresolvedRefs(specCatalog)).toEqual([]);
    expect(Object.keys(fixtureCatalog.components.schemas)).toContain('TreeNode');
    expect(fixtureCatalog.components.schemas.TreeNode.properties.children.items).toEqual({ $ref: '#/components/schemas/TreeNode' });
  });

  it('carries every operation fact of the fixture', () => {
    expect(fixtureCatalog).toMatchObject({ title: 'Things REST API', version: '2.3.4', base_path: '/api', server_url: 'http://localhost:9999/api' });
    const byId = Object.fromEntries(fixtureCatalog.operations.map((o: Obj) => [o.operation_id, o]));
    expect(Object.keys(byId)).toHaveLength(10);
    expect(byId.create_thing).toMatchObject({
      method: 'post',
      path: '/things',
      tag: 'things',
      summary: 'Create a thing',
      idempotent: true,
      charges_credits: true,
      secured: true,
      scopes: [],
      pagination: null,
      async_job: null,
      mcp_tools: ['create_thing', 'create_thing_later'],
      // NewThing's readOnly created_at: requests use its request view (generator/ir-direction.ts).
      request_body: { required: true, content_type: 'application/json', schema: { $ref: '#/components/schemas/NewThingInput' } },
    });
    expect(byId.create_thing.parameters.map((p: Obj) => `${p.in}:${p.name}:${p.required}`)).toEqual(['header:Idempotency-Key:false', 'header:X-Trace-Id:false']);
    expect(byId.create_thing.responses['201'].schema).toEqual({ $ref: '#/components/schemas/Thing' });
    expect(byId.create_thing.responses.default.content_type).toBe('application/json');
    expect(byId.list_things.pagination).toBe('cursor');
    expect(byId.list_things.parameters.find((p: Obj) => p.name === 'tags').schema).toEqual({ type: 'array', items: { type: 'string' } });
    expect(byId.start_job.async_job).toEqual({ poll: 'get_job', args: { id: 'id' }, status_field: 'state', terminal: ['done', 'error'] });
    expect(byId.delete_thing.responses['204']).toEqual({ description: 'Deleted.', content_type: null, schema: null });
    expect(byId.delete_thing.mcp_tools).toEqual([]);
    expect(byId.upload_thing_blob.request_body.content_type).toBe('application/octet-stream');
    // only what the operations reach
    expect(Object.keys(fixtureCatalog.components.schemas).sort()).toEqual(['ErrorEnvelope', 'Job', 'NewThing', 'NewThingInput', 'Owner', 'Thing', 'ThingList', 'TreeNode']);
  });

  it("matches the spec's own Catalog schema (what get_schema promises)", async () => {
    const ir = await buildIr(SPEC);
    const catalogSchema = inlineSchema({ $ref: '#/components/schemas/Catalog' }, schemaEnv(ir));
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(catalogSchema as object);
    expect(validate(specCatalog), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
  });

  it('lists every operation of our spec with its MCP tools', async () => {
    const ir = await buildIr(SPEC);
    expect(specCatalog.base_path).toBe('/v1');
    expect(specCatalog.operations.map((o: Obj) => o.operation_id)).toEqual(ir.operations.map((o) => o.operationId));
    const tools = specCatalog.operations.flatMap((o: Obj) => o.mcp_tools);
    expect(tools).toHaveLength(28); // seed 001's 27 and review_scenes
    const publish = specCatalog.operations.find((o: Obj) => o.operation_id === 'publish_video');
    expect(publish.mcp_tools).toEqual(['publish_video', 'schedule_video']);
    const generateScene = specCatalog.operations.find((o: Obj) => o.operation_id === 'generate_scene');
    expect(generateScene).toMatchObject({ charges_credits: true, idempotent: true, async_job: { poll: 'get_generation_status' } });
  });

  it('is deterministic', async () => {
    const ir = await buildIr(FIXTURE);
    expect(JSON.stringify(buildCatalog(ir))).toBe(JSON.stringify(buildCatalog(await buildIr(FIXTURE))));
  });
});
