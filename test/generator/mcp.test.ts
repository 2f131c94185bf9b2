/**
 * The MCP emitter: self-contained, valid JSON Schemas an agent can fill in, exactly seed 001's
 * tools for our spec, and an argument table that puts every argument back where it belongs.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { generate } from '../../generator/cli.js';
import { createEmitContext, regenerateCommandFor } from '../../generator/shared/emitter.js';
import { buildMcpTools, emitter, unwrap } from '../../generator/emitters/mcp.js';
import { buildIr, buildIrFromText } from '../../generator/ir.js';
import { MCP_TOOLS } from '../helpers/seed-tools.js';

const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as typeof Ajv2020Module;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule;


type Tool = Record<string, any>;
interface McpModule {
  mcpTools: Tool[];
  mcpToolsByName: Map<string, Tool>;
  toolRequest(tool: Tool, input: Record<string, unknown>): { path: Record<string, unknown>; query: Record<string, unknown>; headers: Record<string, string>; body?: unknown };
}

let dir: string;
let spec: McpModule;
let things: McpModule;

async function emitMcp(specPath: string, out: string): Promise<McpModule> {
  await generate({ spec: specPath, out, only: ['mcp'] });
  return import(path.resolve(out, 'mcp.gen.ts'));
}

beforeAll(async () => {
  // tmp/ is git-ignored, so a fresh clone does not have it; generated code lives under the repo to resolve its packages.
  await mkdir(path.resolve('tmp'), { recursive: true });
  dir = await mkdtemp(path.resolve('tmp/test-mcp-'));
  spec = await emitMcp('spec/openapi.yaml', path.join(dir, 'spec'));
  things = await emitMcp('test/fixtures/sdk/things.yaml', path.join(dir, 'things'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function ajv() {
  const a = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
  addFormats(a);
  return a;
}

function hasRef(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(hasRef);
  if (!node || typeof node !== 'object') return false;
  return Object.entries(node).some(([k, v]) => k === '$ref' || hasRef(v));
}

describe('mcp emitter on spec/openapi.yaml', () => {
  it("gives exactly seed 001's tools and those added since", () => {
    expect(spec.mcpTools.map((t) => t.name).sort()).toEqual([...MCP_TOOLS].sort());
  });

  it('gives valid, self-contained JSON Schemas (strict Ajv, draft 2020-12)', () => {
    const a = ajv();
    for (const tool of spec.mcpTools) {
      expect(hasRef(tool.inputSchema), tool.name).toBe(false);
      expect(tool.inputSchema.type).toBe('object');
      expect(() => a.compile(tool.inputSchema), tool.name).not.toThrow();
      for (const r of tool.inputSchema.required ?? []) expect(Object.keys(tool.inputSchema.properties), tool.name).toContain(r);
    }
  });

  it('publish_video posts now (no time arguments); schedule_video requires local_time', () => {
    const publish = spec.mcpToolsByName.get('publish_video')!;
    const schedule = spec.mcpToolsByName.get('schedule_video')!;
    for (const arg of ['when', 'local_time', 'time_zone']) expect(publish.inputSchema.properties).not.toHaveProperty(arg);
    expect(schedule.inputSchema.properties).not.toHaveProperty('when');
    expect(schedule.inputSchema.properties.local_time).toMatchObject({ type: 'string' });
    expect(schedule.inputSchema.required).toEqual(expect.arrayContaining(['id', 'channel_id', 'local_time']));
    expect(publish.operationId).toBe('publish_video');
    expect(schedule.operationId).toBe('publish_video');
    const a = ajv();
    const input = { id: 'wf_1', channel_id: 'ch_1', caption: 'Hi' };
    expect(a.validate(publish.inputSchema, input)).toBe(true);
    expect(a.validate(publish.inputSchema, { ...input, local_time: '2030-01-01T09:00' })).toBe(false);
    expect(a.validate(schedule.inputSchema, input)).toBe(false);
    expect(a.validate(schedule.inputSchema, { ...input, local_time: '2030-01-01T09:00' })).toBe(true);
    expect(a.validate(schedule.inputSchema, { ...input, local_time: 'tomorrow 9am' })).toBe(false);
    expect(spec.toolRequest(schedule, { ...input, local_time: '2030-01-01T09:00', time_zone: 'Europe/Paris', idempotency_key: 'k1' })).toEqual({
      path: { id: 'wf_1' },
      query: {},
      headers: { 'Idempotency-Key': 'k1' },
      body: { channel_id: 'ch_1', caption: 'Hi', local_time: '2030-01-01T09:00', time_zone: 'Europe/Paris' },
    });
  });

  it('offers idempotency_key exactly on the idempotent tools, mapped to the Idempotency-Key header', () => {
    const withKey = spec.mcpTools.filter((t) => 'idempotency_key' in t.inputSchema.properties).map((t) => t.name);
    for (const name of ['create_workflow', 'attach_track', 'create_render', 'generate_scene', 'publish_video', 'schedule_video']) {
      expect(withKey).toContain(name);
    }
    expect(withKey).not.toContain('get_workflow');
    expect(withKey).not.toContain('delete_workflow');
    for (const name of withKey) {
      const tool = spec.mcpToolsByName.get(name)!;
      expect(tool.args.idempotency_key).toEqual({ in: 'header', name: 'Idempotency-Key' });
      expect(tool.inputSchema.required ?? []).not.toContain('idempotency_key');
    }
    // no other header reaches a tool (If-Match on update_workflow stays out)
    for (const tool of spec.mcpTools) {
      expect(Object.entries(tool.args).filter(([arg, b]: [string, any]) => b.in === 'header' && arg !== 'idempotency_key')).toEqual([]);
    }
  });

  it('carries the annotations of the spec', () => {
    const hints = (n: string) => spec.mcpToolsByName.get(n)!.annotations;
    expect(hints('get_workflow')).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(hints('delete_workflow')).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(hints('detach_track').destructiveHint).toBe(true);
    expect(hints('publish_video')).toMatchObject({ destructiveHint: true, openWorldHint: true });
    expect(hints('import_asset').openWorldHint).toBe(true);
    for (const tool of spec.mcpTools) {
      for (const key of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint']) expect(typeof tool.annotations[key], `${tool.name}.${key}`).toBe('boolean');
      expect(tool.title).toMatch(/^[A-Z]/);
      expect(tool.description.length, tool.name).toBeGreaterThan(40);
    }
  });

  it('tells the agent what to call before and after', () => {
    const desc = (n: string) => spec.mcpToolsByName.get(n)!.description as string;
    expect(desc('generate_scene')).toContain('estimate_cost');
    expect(desc('generate_scene')).toContain('get_generation_status');
    expect(desc('create_render')).toContain('get_render');
    expect(desc('create_workflow')).toContain('idempotency_key');
    expect(desc('list_workflows')).toContain('next_cursor');
    // hard-wrapped YAML lines are joined into paragraphs
    expect(desc('generate_scene')).not.toMatch(/[a-z,]\n[a-z]/);
  });

  it('maps arguments back onto the request', () => {
    const attach = spec.mcpToolsByName.get('attach_track')!;
    expect(attach.args.id).toEqual({ in: 'path', name: 'id' });
    expect(attach.args.clip_id).toEqual({ in: 'path', name: 'clip_id' });
    const req = spec.toolRequest(attach, { id: 'wf_1', clip_id: 'n1', asset_id: 'as_1', kind: 'music', volume_db: -12 });
    expect(req).toEqual({ path: { id: 'wf_1', clip_id: 'n1' }, query: {}, headers: {}, body: { asset_id: 'as_1', kind: 'music', volume_db: -12 } });
    const renders = spec.mcpToolsByName.get('list_all_renders')!;
    expect(spec.toolRequest(renders, { limit: 5, status: 'running' })).toEqual({ path: {}, query: { limit: 5, status: 'running' }, headers: {} });
    const generateScene = spec.mcpToolsByName.get('generate_scene')!;
    expect(generateScene.body).toMatchObject({ mode: 'flat', required: false });
    expect(spec.toolRequest(generateScene, { id: 'wf_1' })).toEqual({ path: { id: 'wf_1' }, query: {}, headers: {} });
  });

  it('inlines nested components (create_workflow shots)', () => {
    const shots = spec.mcpToolsByName.get('create_workflow')!.inputSchema.properties.shots;
    expect(shots.type).toBe('array');
    expect(shots.items.type).toBe('object');
    expect(Object.keys(shots.items.properties)).toEqual(expect.arrayContaining(['prompt', 'duration_s']));
  });

  it('is written deterministically', async () => {
    const once = await readFile(path.join(dir, 'spec', 'mcp.gen.ts'), 'utf8');
    const ir = await buildIr('spec/openapi.yaml');
    const again = await emitter.emit(ir, createEmitContext(ir, regenerateCommandFor('spec/openapi.yaml', path.relative(process.cwd(), path.join(dir, 'spec')))));
    expect(again).toBe(once);
  });
});

describe('mcp emitter on the fixture', () => {
  const tool = (n: string) => things.mcpToolsByName.get(n)!;

  it('prefixes a body property that clashes with a path parameter', () => {
    const replace = tool('replace_thing');
    expect(replace.args.id).toEqual({ in: 'path', name: 'id' });
    expect(replace.args.body_id).toEqual({ in: 'body', name: 'id' });
    expect(things.toolRequest(replace, { id: 'a', body_id: 'b', name: 'n' })).toEqual({ path: { id: 'a' }, query: {}, headers: {}, body: { id: 'b', name: 'n' } });
    expect(replace.inputSchema.required).toEqual(['id', 'name']);
  });

  it('takes a non-object body as one `body` argument', () => {
    const tags = tool('set_thing_tags');
    expect(tags.body).toEqual({ mode: 'single', arg: 'body', contentType: 'application/json', required: true });
    expect(tags.inputSchema.properties.body).toEqual({ type: 'array', items: { type: 'string' } });
    expect(things.toolRequest(tags, { id: 'a', body: ['x'] }).body).toEqual(['x']);
    expect(tool('plant_tree').body.mode).toBe('single');
  });

  it('cleans schemas for JSON Schema validators', () => {
    const props = tool('create_thing').inputSchema.properties;
    expect(props).not.toHaveProperty('created_at'); // readOnly
    expect(props.name.examples).toEqual(['fox']);
    expect(props.name).not.toHaveProperty('example');
    expect(props.owner).not.toHaveProperty('x-internal');
    expect(props.owner.properties).toHaveProperty('x-note'); // a property, not an extension
    expect(props.size.type).toEqual(['integer', 'null']);
    const tree = tool('start_job').inputSchema.properties.tree;
    expect(tree).not.toHaveProperty('discriminator');
    expect(tree.properties.children.items).toEqual({}); // the recursion is cut
    const a = ajv();
    for (const t of things.mcpTools) expect(() => a.compile(t.inputSchema), t.name).not.toThrow();
    expect(a.validate(tool('create_thing').inputSchema, { name: 'x', owner: { name: 'o' } })).toBe(true);
    expect(a.validate(tool('create_thing').inputSchema, { owner: { name: 'o' } })).toBe(false);
    expect(a.validate(tool('create_thing').inputSchema, { name: 'x', surprise: 1 })).toBe(false);
  });

  it('adds guidance from the extensions', () => {
    expect(tool('create_thing').description).toMatch(/Spends credits/);
    expect(tool('create_thing').description).toMatch(/Identical calls within five minutes act once.*new idempotency_key/);
    // It charges credits: the MCP server asks the user (or wants confirm: true) first.
    expect(tool('create_thing').confirm).toEqual({ reason: 'spends_credits' });
    expect(tool('create_thing').description).toMatch(/confirm: true/);
    expect(tool('create_thing_later').description).toMatch(/^Create a thing at a later time\./);
    expect(tool('create_thing_later').inputSchema.required).toEqual(['name', 'when']);
    expect(tool('start_job').description).toContain("poll get_job (id = the result's id) until state is done or error");
    expect(tool('list_things').description).toContain('cursor = next_cursor');
    expect(tool('get_thing').description).toBe('Get thing (GET /things/{id}).');
    expect(tool('get_thing').annotations).toEqual({ readOnlyHint: true });
  });

  it('names the pointer of an exclude or require that is not an argument', () => {
    const text = `openapi: 3.1.0
info: { title: t, version: '1' }
paths:
  /a:
    post:
      operationId: a
      x-mcp: { tools: [ { name: a, exclude: [nope] } ] }
      responses: { '204': { description: ok } }
`;
    expect(() => buildMcpTools(buildIrFromText(text, 'bad.yaml', 'h'))).toThrow('#/paths/~1a/post/x-mcp/tools/0/exclude/0');
    const dup = text.replace('{ name: a, exclude: [nope] }', '{ name: a }, { name: a }');
    expect(() => buildMcpTools(buildIrFromText(dup, 'bad.yaml', 'h'))).toThrow(/duplicate MCP tool name "a"/);
  });

  it('unwraps hard-wrapped descriptions but keeps lists', () => {
    expect(unwrap('one\ntwo\n\nthree')).toBe('one two\n\nthree');
    expect(unwrap('steps:\n- a\n- b')).toBe('steps:\n- a\n- b');
  });
});
