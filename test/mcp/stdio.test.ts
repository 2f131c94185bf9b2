/**
 * `lavendly mcp` as a plain process: messages piped in are all answered on stdout (and nothing
 * else is written there) before it exits on its own when its input ends.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { MCP_TOOLS, ROOT } from './helpers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer('sqlite');
});
afterAll(async () => {
  await server?.close();
});

function run(input: object[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/lavendly.mjs'), 'mcp'], {
      cwd: ROOT, env: { ...process.env, LAVENDLY_API_KEY: '', ...env }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`did not exit; stderr: ${stderr}`)); }, 90_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.end(input.map((m) => JSON.stringify(m)).join('\n') + '\n');
  });
}

const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'pipe', version: '0' } } };
const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };

describe('lavendly mcp over a pipe', () => {
  it('answers every call made before its input ended, then exits 0', async () => {
    const { key } = await server.account({ credits: 0 });
    const out = await run([
      initialize, initialized,
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'create_workflow', arguments: { name: 'Piped', shots: [{ prompt: 'p' }] } } },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'get_status', arguments: {} } },
      { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'no_such_tool', arguments: {} } },
    ], { LAVENDLY_API_KEY: key, LAVENDLY_BASE_URL: server.base });
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.id !== undefined).sort((a, b) => a.id - b.id);
    expect(lines.map((l) => l.id)).toEqual([1, 2, 3, 4]);
    expect(lines[1].result.isError).toBeUndefined();
    expect(lines[1].result.structuredContent.name).toBe('Piped');
    expect(lines[2].result.structuredContent.database.ok).toBe(true);
    // An unknown tool is a protocol error, not a tool result.
    expect(lines[3].error.code).toBe(-32602);
    expect(lines[3].error.message).toMatch(/no_such_tool/);
    expect(out.stderr).toMatch(/serving .* over stdio/);
  }, 120_000);

  it('refuses a LAVENDLY_BASE_URL that is not an http(s) URL at start, in one line', async () => {
    for (const bad of ['notaurl', 'ftp://example.com/v1']) {
      const out = await run([initialize], { LAVENDLY_BASE_URL: bad });
      expect(out.code, bad).toBe(1);
      expect(out.stdout).toBe('');
      expect(out.stderr.trim()).toBe(`lavendly: error: LAVENDLY_BASE_URL must be an http:// or https:// URL such as http://localhost:8090/v1 (got '${bad}')`);
    }
  });

  it('without LAVENDLY_API_KEY: lists the tools, and calls answer unauthorized with what to do', async () => {
    const out = await run([
      initialize, initialized,
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_workflows', arguments: {} } },
    ], { LAVENDLY_BASE_URL: server.base });
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.id !== undefined).sort((a, b) => a.id - b.id);
    expect(lines[1].result.tools).toHaveLength(MCP_TOOLS.length);
    expect(lines[2].result.isError).toBe(true);
    expect(JSON.parse(lines[2].result.content[1].text).error.code).toBe('unauthorized');
    expect(JSON.parse(lines[2].result.content[1].text).next_step).toMatch(/LAVENDLY_API_KEY/);
    expect(out.stderr).toMatch(/LAVENDLY_API_KEY is not set/);
  }, 120_000);
});
