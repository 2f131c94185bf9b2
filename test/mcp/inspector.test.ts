/**
 * MCP Inspector's CLI (@modelcontextprotocol/inspector 0.15.0, the last release that does not
 * ask for Node 22; pinned as a devDependency) starts `lavendly mcp` over stdio and lists tools,
 * prompts and resources: each answer must parse, and stderr must stay empty (no warnings).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createWorkflow } from '../renders/helpers.js';
import { MCP_TOOLS, ROOT } from './helpers.js';

const run = promisify(execFile);

let server: TestServer;
let key: string;
let workflowId: string;

beforeAll(async () => {
  server = await startTestServer('sqlite');
  ({ key } = await server.account({ credits: 10, name: 'inspector' }));
  workflowId = (await createWorkflow(server, key, [1])).id;
});
afterAll(async () => {
  await server?.close();
});

async function inspect(method: string): Promise<{ json: any; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('LAVENDLY_')) env[k] = v;
  const { stdout, stderr } = await run('npx', [
    'mcp-inspector', '--cli',
    '-e', `LAVENDLY_API_KEY=${key}`, '-e', `LAVENDLY_BASE_URL=${server.base}`,
    'node', 'bin/lavendly.mjs', 'mcp', '--method', method,
  ], { cwd: ROOT, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  return { json: JSON.parse(stdout), stderr };
}

describe('MCP Inspector CLI against lavendly mcp', () => {
  it('lists the tools', async () => {
    const { json, stderr } = await inspect('tools/list');
    expect(stderr).toBe('');
    expect(json.tools.map((t: any) => t.name).sort()).toEqual([...MCP_TOOLS].sort());
    for (const t of json.tools) expect(t.outputSchema?.type, t.name).toBe('object');
  });

  it('lists the prompts', async () => {
    const { json, stderr } = await inspect('prompts/list');
    expect(stderr).toBe('');
    expect(json.prompts.map((p: any) => p.name)).toEqual(['make_video']);
  });

  it('lists the resources and their templates', async () => {
    const listed = await inspect('resources/list');
    expect(listed.stderr).toBe('');
    expect(listed.json.resources.map((r: any) => r.uri)).toEqual(expect.arrayContaining(['lavendly://ledger', `lavendly://workflows/${workflowId}`]));
    const templates = await inspect('resources/templates/list');
    expect(templates.stderr).toBe('');
    expect(templates.json.resourceTemplates.map((t: any) => t.uriTemplate)).toContain('lavendly://workflows/{id}');
  });
});
