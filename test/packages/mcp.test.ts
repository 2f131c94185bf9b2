/**
 * @lavendly/mcp as a desktop client runs it: both tarballs installed into a fresh directory outside
 * the repository (the MCP SDK and the rest from the registry), then `npx -y @lavendly/mcp` started
 * by the official MCP client over stdio, configured by LAVENDLY_API_KEY and LAVENDLY_BASE_URL only,
 * against a live server.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installConsumer, packedPackages, ROOT, run, type Installed } from '../helpers/packages.js';
import { MCP_TOOLS } from '../helpers/seed-tools.js';
import { UNKEEPABLE_MESSAGES } from '../helpers/unkeepable-messages.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let consumer: Installed;
let tarballs: Record<'sdk' | 'mcp', string>;

beforeAll(async () => {
  tarballs = await packedPackages();
  [server, consumer] = await Promise.all([startTestServer('sqlite'), installConsumer([tarballs.sdk, tarballs.mcp])]);
}, 300_000);

afterAll(async () => {
  await server?.close();
  await consumer?.remove();
});

/** The server exactly as a desktop config starts it: `npx -y @lavendly/mcp` with two variables. */
async function connect(apiKey: string): Promise<{ client: Client; stderr: () => string }> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LAVENDLY_API_KEY: apiKey, LAVENDLY_BASE_URL: server.base };
  const transport = new StdioClientTransport({ command: 'npx', args: ['-y', '@lavendly/mcp'], cwd: consumer.dir, env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const client = new Client({ name: 'package-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

describe('@lavendly/mcp installed from its tarball', () => {
  it('installs the SDK and the MCP SDK, none of the server (no SQLite driver, knex, ffmpeg, koa)', async () => {
    const nodeModules = path.join(consumer.dir, 'node_modules');
    const installed = await readdir(nodeModules);
    expect(installed).toContain('@modelcontextprotocol');
    expect(await readdir(path.join(nodeModules, '@lavendly'))).toEqual(['mcp', 'sdk']);
    for (const heavy of ['better-sqlite3', 'sqlite3', 'knex', 'pg', 'koa', '@ffmpeg-installer', '@ffprobe-installer', 'redoc', 'tsx']) {
      expect(installed, heavy).not.toContain(heavy);
    }
    // The SDK it depends on is the tarball built here, not something else of that name.
    expect(await readFile(path.join(nodeModules, '@lavendly/sdk/api.md'), 'utf8')).toBe(await readFile(path.join(ROOT, 'generated/sdk-api.gen.md'), 'utf8'));
    const pkg = JSON.parse(await readFile(path.join(nodeModules, '@lavendly/mcp/package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@lavendly/sdk', '@modelcontextprotocol/sdk', 'ajv', 'ajv-formats']);
    const lint = await run(path.join(ROOT, 'node_modules/.bin/publint'), ['--strict', path.join(nodeModules, '@lavendly/mcp')], { timeout: 60_000 });
    expect(lint.stdout).toMatch(/All good/);
  });

  it('lists every tool over stdio, and a call reaches the live server through @lavendly/sdk', async () => {
    const { key } = await server.account({ credits: 0 });
    const { client, stderr } = await connect(key);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...MCP_TOOLS].sort());

      const created = (await client.callTool({ name: 'create_workflow', arguments: { name: 'From the package', shots: [{ prompt: 'a fox' }] } })) as CallToolResult;
      expect(created.isError).toBeUndefined();
      const id = (created.structuredContent as { id: string }).id;
      const stored = await fetch(`${server.base}/workflows/${id}`, { headers: { authorization: `Bearer ${key}` } });
      expect(((await stored.json()) as { name: string }).name).toBe('From the package');

      // An API error comes back as a tool result with the envelope and the next step: the SDK's
      // typed errors are recognised across the package boundary.
      const missing = (await client.callTool({ name: 'get_workflow', arguments: { id: 'wf_missing' } })) as CallToolResult;
      expect(missing.isError).toBe(true);
      const envelope = JSON.parse((missing.content as { text: string }[])[1]!.text) as { error: { code: string }; next_step: string };
      expect(envelope.error.code).toBe('not_found');
      expect(envelope.next_step).toMatch(/list_workflows/);
      expect(missing.structuredContent).toBeUndefined();

      // A call the protocol refuses (no tool name) is the caller's mistake: -32602, naming the field.
      await expect(client.request({ method: 'tools/call', params: { arguments: {} } } as never, CallToolResultSchema))
        .rejects.toMatchObject({ code: -32602, message: expect.stringContaining('Invalid params for tools/call: params.name') });
      expect(stderr()).toMatch(/serving .* over stdio/);
    } finally {
      await client.close();
    }
  });

  it('answers a line it cannot read with a JSON-RPC error and goes on serving (its own stdio transport)', async () => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LAVENDLY_API_KEY: '', LAVENDLY_BASE_URL: server.base };
    const child = spawn('npx', ['-y', '@lavendly/mcp'], { cwd: consumer.dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const line = (m: unknown) => `${JSON.stringify(m)}\n`;
    child.stdin.end([
      line({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'pipe', version: '0' } } }),
      line({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      'not json at all\n',
      line({ jsonrpc: '2.0', id: 2, method: 'ping' }),
    ].join(''));
    await exited;
    // Every line on stdout is JSON-RPC (JSON.parse throws on anything else).
    const replies = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: unknown; result?: unknown; error?: { code: number } });
    expect(replies.find((r) => r.id === null)?.error?.code).toBe(-32700);
    expect(replies.find((r) => r.id === 2)?.result).toEqual({});
  }, 60_000);

  it('refuses JSON the API could not keep as sent (too deep, __proto__, 1e400) as /mcp does, with the request id', async () => {
    const { key } = await server.account({ credits: 0 });
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LAVENDLY_API_KEY: key, LAVENDLY_BASE_URL: server.base };
    const child = spawn('npx', ['-y', '@lavendly/mcp'], { cwd: consumer.dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const line = (m: unknown) => `${JSON.stringify(m)}\n`;
    child.stdin.end([
      line({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'pipe', version: '0' } } }),
      line({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      ...UNKEEPABLE_MESSAGES.map((c) => `${c.line}\n`),
      line({ jsonrpc: '2.0', id: 2, method: 'ping' }),
    ].join(''));
    await exited;
    const replies = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: unknown; result?: unknown; error?: unknown });
    // Before, the __proto__ argument was dropped and the call went on, 1e400 reached the API as null,
    // and the deep _meta was answered as if nothing were wrong.
    for (const c of UNKEEPABLE_MESSAGES) {
      expect(replies.filter((r) => r.id === c.id).map((r) => r.error), c.line.slice(0, 80)).toEqual([{ code: c.code, message: c.message }]);
    }
    expect(replies.find((r) => r.id === 2)?.result).toEqual({});
    // Nothing reached the API: neither workflow was created without its __proto__ or with a null.
    const listed = await fetch(`${server.base}/workflows`, { headers: { authorization: `Bearer ${key}` } });
    expect(((await listed.json()) as { data: unknown[] }).data).toEqual([]);
  }, 60_000);

  it('refuses a LAVENDLY_BASE_URL that is not an http(s) URL, in one line and exit 1, before serving', async () => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LAVENDLY_API_KEY: '', LAVENDLY_BASE_URL: 'notaurl' };
    const child = spawn('npx', ['-y', '@lavendly/mcp'], { cwd: consumer.dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    child.stdin.destroy();
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim()).toBe("lavendly-mcp: LAVENDLY_BASE_URL must be an http:// or https:// URL such as http://localhost:8090/v1 (got 'notaurl')");
  }, 60_000);

  it('--help prints the flags and the environment it reads and exits 0; an unknown flag points to it', async () => {
    const bin = path.join(consumer.dir, 'node_modules/.bin/lavendly-mcp');
    const help = await run(bin, ['--help'], { cwd: consumer.dir, timeout: 30_000 });
    expect(help.stdout).toContain('usage: lavendly-mcp [--read-only] [--tools a,b]');
    expect(help.stdout).toContain('LAVENDLY_API_KEY');
    expect(help.stdout).toContain('LAVENDLY_BASE_URL');
    const wrong = await run(bin, ['--verbose'], { cwd: consumer.dir, timeout: 30_000 }).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(wrong?.code).toBe(1);
    expect(wrong?.stderr.trim()).toBe('lavendly-mcp: unknown argument --verbose (usage: lavendly-mcp [--read-only] [--tools a,b]; --help for more)');
  }, 60_000);
});
