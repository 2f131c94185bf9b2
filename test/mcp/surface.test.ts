/**
 * What surrounds the tools: the seed's flow as a prompt, logging, `--read-only` / `--tools`
 * filters on `lavendly mcp`, and the HTTP endpoint's Origin check and WWW-Authenticate header.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { connect, connectStdio, ROOT, type TransportKind } from './helpers.js';

let server: TestServer;
let key: string;
beforeAll(async () => {
  server = await startTestServer('sqlite');
  ({ key } = await server.account({ name: 'surface' }));
});
afterAll(async () => {
  await server?.close();
});

describe.each<TransportKind>(['http', 'stdio'])('over %s', (kind) => {
  it('offers the seed flow as a prompt, and logging', async () => {
    const c = await connect(kind, server, key);
    try {
      expect(c.client.getServerCapabilities()).toMatchObject({ tools: {}, prompts: {}, logging: {} });
      const { prompts } = await c.client.listPrompts();
      expect(prompts.map((p) => p.name)).toEqual(['make_video']);
      const fox = await c.client.getPrompt({ name: 'make_video', arguments: {} });
      const text = (fox.messages[0]!.content as { text: string }).text;
      expect(text).toMatch(/Bookshop fox/);
      expect(text).toMatch(/9am tomorrow/);
      const own = await c.client.getPrompt({ name: 'make_video', arguments: { name: 'Harbour cat', shots: 'a cat on a boat\nthe boat sails', when: 'Friday noon' } });
      expect((own.messages[0]!.content as { text: string }).text).toMatch(/"Harbour cat" with 2 shots.*a cat on a boat; the boat sails[\s\S]*Friday noon/);
      await expect(c.client.getPrompt({ name: 'nope' })).rejects.toThrow(/Unknown prompt/);
      await c.client.setLoggingLevel('info');
    } finally {
      await c.close();
    }
  });
});

describe('lavendly mcp filters', () => {
  it('--read-only offers only tools that change nothing', async () => {
    const c = await connectStdio(server.base, key, {}, ['--read-only']);
    try {
      const { tools } = await c.client.listTools();
      expect(tools.length).toBeGreaterThan(10);
      for (const t of tools) expect(t.annotations?.readOnlyHint, t.name).toBe(true);
      expect(tools.map((t) => t.name)).not.toContain('create_workflow');
      const refused = await c.client.callTool({ name: 'publish_video', arguments: {} }).catch((err: Error) => err);
      expect(String(refused)).toMatch(/Unknown tool 'publish_video'/);
    } finally {
      await c.close();
    }
  });

  it('--tools keeps the named tools; an unknown name stops it before it starts', async () => {
    const c = await connectStdio(server.base, key, {}, ['--tools', 'get_status,get_ledger']);
    try {
      expect((await c.client.listTools()).tools.map((t) => t.name).sort()).toEqual(['get_ledger', 'get_status']);
    } finally {
      await c.close();
    }
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/lavendly.mjs'), 'mcp', '--tools', 'get_status,get_stauts'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/unknown tool get_stauts/);
  });
});

describe('the /mcp endpoint', () => {
  const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '0' } } };
  const post = (headers: Record<string, string>) => fetch(`${server.origin}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(initialize),
  });

  it('refuses a foreign Origin (403); its own origin and none are fine', async () => {
    const foreign = await post({ authorization: `Bearer ${key}`, origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect((await foreign.json()).error.message).toMatch(/evil\.example/);
    expect((await post({ authorization: `Bearer ${key}`, origin: 'null' })).status).toBe(403);
    expect((await post({ authorization: `Bearer ${key}`, origin: server.origin })).status).toBe(200);
    expect((await post({ authorization: `Bearer ${key}` })).status).toBe(200);
  });

  it('refuses a DNS-rebinding page: Origin and Host both the attacker\'s name', async () => {
    const { port } = new URL(server.origin);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port, path: '/mcp', method: 'POST',
        headers: {
          host: `rebind.example:${port}`, origin: `http://rebind.example:${port}`, authorization: `Bearer ${key}`,
          'content-type': 'application/json', accept: 'application/json, text/event-stream',
        },
      }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.end(JSON.stringify(initialize));
    });
    expect(status).toBe(403);
  });

  it('says in WWW-Authenticate where to get a token', async () => {
    const none = await post({});
    expect(none.status).toBe(401);
    // Where to get a token: the protected-resource metadata (OAuth for remote clients).
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm="lavendly", resource_metadata="http[^"]+\/mcp"$/);
    const bad = await post({ authorization: 'Bearer lav_not_a_key' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/resource_metadata=/);
  });
});
