/**
 * The MCP server through the official MCP client, over stdio (`lavendly mcp` as a subprocess) and
 * Streamable HTTP (`/mcp`), against a real server on an ephemeral port with a fresh SQLite file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { callTool, connect, ok, sampleFor, MCP_TOOLS, type Connected, type TransportKind } from './helpers.js';

const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as (a: Ajv2020) => void;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer('sqlite');
});

afterAll(async () => {
  await server?.close();
});

/** API operations the server logged as served, from its access log (the /mcp requests themselves left out). */
function servedOperations(since: number): string[] {
  return server.logs.slice(since).map((l) => l.operation).filter((o): o is string => typeof o === 'string' && o !== 'mcp');
}

describe.each<TransportKind>(['http', 'stdio'])('over %s', (kind) => {
  let conn: Connected;
  let key: string;

  beforeAll(async () => {
    ({ key } = await server.account({ credits: 200, name: `mcp ${kind}` }));
    conn = await connect(kind, server, key);
  });

  afterAll(async () => {
    await conn?.close();
  });

  it('lists exactly the tools of seed 001 and those added since, with compilable schemas and annotations', async () => {
    const { tools } = await conn.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...MCP_TOOLS].sort());
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    for (const tool of tools) {
      expect(tool.inputSchema.type, tool.name).toBe('object');
      expect(() => ajv.compile(tool.inputSchema), tool.name).not.toThrow();
      expect(tool.outputSchema?.type, `${tool.name} has an outputSchema`).toBe('object');
      // Response schemas may list `required` next to properties declared in an allOf member.
      expect(() => new Ajv2020({ strict: true, strictRequired: false, allErrors: true, validateFormats: false }).compile(tool.outputSchema!), tool.name).not.toThrow();
      expect(tool.description?.length ?? 0, tool.name).toBeGreaterThan(40);
      const a = tool.annotations!;
      expect(a, tool.name).toBeDefined();
      for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
        expect(typeof a[hint], `${tool.name}.${hint}`).toBe('boolean');
      }
    }
    const by = new Map(tools.map((t) => [t.name, t]));
    for (const name of ['list_workflows', 'get_workflow', 'get_ledger', 'get_status', 'get_schema', 'estimate_cost', 'get_render']) {
      expect(by.get(name)!.annotations!.readOnlyHint, name).toBe(true);
    }
    for (const name of ['publish_video', 'schedule_video', 'delete_workflow', 'detach_track']) {
      expect(by.get(name)!.annotations!.destructiveHint, name).toBe(true);
    }
    for (const name of ['import_asset', 'publish_video']) expect(by.get(name)!.annotations!.openWorldHint, name).toBe(true);
    for (const name of ['create_workflow', 'attach_track', 'create_render', 'generate_scene', 'publish_video']) {
      expect(Object.keys(by.get(name)!.inputSchema.properties ?? {}), name).toContain('idempotency_key');
      expect(by.get(name)!.annotations!.idempotentHint, name).toBe(true);
    }
    expect(by.get('schedule_video')!.inputSchema.required).toContain('local_time');
    expect(Object.keys(by.get('publish_video')!.inputSchema.properties ?? {})).not.toContain('local_time');
    expect(by.get('generate_scene')!.description).toMatch(/estimate_cost/);
  });

  it('every tool reaches the real server and answers a result or a well-formed error', async () => {
    const wf = await ok(conn.client, 'create_workflow', { name: 'Reach test', shots: [{ prompt: 'a quiet street at dawn' }] });
    expect(wf.id).toMatch(/^wf_/);
    const { tools } = await conn.client.listTools();
    // delete_workflow last, so the other tools see the workflow.
    tools.sort((a, b) => Number(a.name === 'delete_workflow') - Number(b.name === 'delete_workflow'));
    const outcomes: Record<string, string> = {};
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    for (const tool of tools) {
      const since = server.logs.length;
      const props = tool.inputSchema.properties ?? {};
      // The real workflow where a tool takes one; a loopback URL for import_asset, which the
      // server's address policy refuses without going out to the network.
      const overrides: Record<string, unknown> = {};
      if ('id' in props) overrides.id = wf.id;
      if ('local_time' in props) overrides.local_time = new Date(Date.now() + 86_400_000).toISOString().slice(0, 16);
      if ('confirm' in props) overrides.confirm = true; // the user said yes (confirm.test.ts covers asking)
      if (tool.name === 'import_asset') overrides.url = 'http://127.0.0.1:9/fox.png';
      const args = sampleFor(tool.inputSchema as any, overrides);
      const r = await callTool(conn.client, tool.name, args);
      if (r.isError) {
        // An error must be the server's envelope (it carries the server's request id), plus a next step.
        expect(r.error?.code, `${tool.name}: ${r.text}`).toEqual(expect.any(String));
        expect(r.error?.message, tool.name).toEqual(expect.any(String));
        expect(r.error?.request_id, `${tool.name} did not reach the server: ${r.text}`).toMatch(/^req_/);
        expect(r.nextStep, tool.name).toEqual(expect.any(String));
        expect(r.text, tool.name).toMatch(/Next step: /);
        outcomes[tool.name] = `${r.error.status} ${r.error.code}`;
      } else {
        expect(r.result.content[0]?.type, tool.name).toBe('text');
        expect(r.json, `${tool.name}: ${r.text}`).not.toBeNull();
        // The official client already refused a result that does not match; check it here too.
        const validate = ajv.compile(tool.outputSchema!);
        expect(validate(r.result.structuredContent), `${tool.name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
        outcomes[tool.name] = 'ok';
      }
      // The server's access log names the operation: the call went through the real HTTP API.
      await expect.poll(() => servedOperations(since), { timeout: 5_000 }).toContain(tool.name === 'schedule_video' ? 'publish_video' : tool.name);
    }
    console.info(`[mcp ${kind}] tool outcomes:`, outcomes);
    expect(outcomes.get_status).toBe('ok');
    expect(outcomes.get_workflow).toBe('ok');
  });

  it('a repeated create_workflow with the same idempotency_key creates one workflow and answers identically', async () => {
    const { key: freshKey } = await server.account({ credits: 0, name: `idem ${kind}` });
    const c = await connect(kind, server, freshKey);
    try {
      const args = { name: 'Once only', shots: [{ prompt: 'one shot' }], idempotency_key: `idem-${kind}-1` };
      const first = await callTool(c.client, 'create_workflow', args);
      const second = await callTool(c.client, 'create_workflow', args);
      expect(first.isError, first.text).toBe(false);
      expect(second.text).toBe(first.text);
      expect(second.result.structuredContent).toEqual(first.result.structuredContent);
      const list = await ok(c.client, 'list_workflows', {});
      expect(list.data).toHaveLength(1);
      expect(list.data[0].id).toBe(first.json.id);
      // The same key with another body is refused, with the step to take.
      const other = await callTool(c.client, 'create_workflow', { ...args, name: 'Something else' });
      expect(other.isError).toBe(true);
      expect(other.error.code).toBe('idempotency_key_reused');
      expect(other.nextStep).toMatch(/new idempotency_key/);
      expect((await ok(c.client, 'list_workflows', {})).data).toHaveLength(1);
    } finally {
      await c.close();
    }
  });

  it('a bad argument is refused before anything is sent, naming the argument', async () => {
    const since = server.logs.length;
    const bad = await callTool(conn.client, 'create_workflow', { name: 'Bad', shots: [{ prompt: 'x', duration_s: 99 }] });
    expect(bad.isError).toBe(true);
    expect(bad.error.code).toBe('validation_error');
    expect(bad.error.arguments).toEqual(['shots']);
    expect(bad.text).toMatch(/shots\[0\]\.duration_s/);

    const missing = await callTool(conn.client, 'get_workflow', {});
    expect(missing.isError).toBe(true);
    expect(missing.text).toMatch(/'id'/);

    const wrongType = await callTool(conn.client, 'list_workflows', { limit: 'ten' });
    expect(wrongType.error.arguments).toEqual(['limit']);

    // publish_video posts now: a time is an error that points at schedule_video, not a silent drop.
    const publishWithTime = await callTool(conn.client, 'publish_video', { id: 'wf_abc', channel_id: 'ch_abc', local_time: '2030-01-01T09:00' });
    expect(publishWithTime.isError).toBe(true);
    expect(publishWithTime.error.arguments).toEqual(['local_time']);
    expect(publishWithTime.text).toMatch(/schedule_video/);

    const scheduleWithoutTime = await callTool(conn.client, 'schedule_video', { id: 'wf_abc', channel_id: 'ch_abc' });
    expect(scheduleWithoutTime.isError).toBe(true);
    expect(scheduleWithoutTime.error.arguments).toEqual(['local_time']);

    const badTime = await callTool(conn.client, 'schedule_video', { id: 'wf_abc', channel_id: 'ch_abc', local_time: 'tomorrow 9am' });
    expect(badTime.error.arguments).toEqual(['local_time']);

    const unknown = await callTool(conn.client, 'get_status', { verbose: true });
    expect(unknown.error.arguments).toEqual(['verbose']);

    // None of these reached the API.
    expect(servedOperations(since)).toEqual([]);
  });

  it('an unknown id comes back as not_found with the list tool to call', async () => {
    const r = await callTool(conn.client, 'get_workflow', { id: 'wf_doesnotexist' });
    expect(r.isError).toBe(true);
    expect(r.error.code).toBe('not_found');
    expect(r.error.status).toBe(404);
    expect(r.nextStep).toMatch(/list_workflows/);
  });
});

describe('HTTP endpoint', () => {
  const initialize = {
    jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '0' } },
  };
  const post = (headers: Record<string, string>) => fetch(`${server.origin}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(initialize),
  });

  it('refuses a call without a key (401) or with a bad one', async () => {
    const none = await post({});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect((await none.json()).error.code).toBe('unauthorized');
    const bad = await post({ authorization: 'Bearer lav_not_a_real_key' });
    expect(bad.status).toBe(401);
    await expect(connect('http', server, 'lav_not_a_real_key')).rejects.toThrow(/401|unauthorized/i);
  });

  it('answers initialize with a key, and 405 to GET and DELETE (stateless)', async () => {
    const { key } = await server.account({ credits: 0 });
    const res = await post({ authorization: `Bearer ${key}` });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.result.serverInfo.name).toBe('lavendly');
    expect(body.result.capabilities.tools).toBeDefined();
    expect(res.headers.get('mcp-session-id')).toBeNull();
    for (const method of ['GET', 'DELETE']) {
      const r = await fetch(`${server.origin}/mcp`, { method, headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } });
      expect(r.status, method).toBe(405);
      expect(r.headers.get('allow')).toBe('POST');
    }
  });

  it('acts with the caller\'s own key: one account never sees another\'s workflows', async () => {
    const a = await server.account({ credits: 0, name: 'A' });
    const b = await server.account({ credits: 0, name: 'B' });
    const ca = await connect('http', server, a.key);
    const cb = await connect('http', server, b.key);
    try {
      const wf = await ok(ca.client, 'create_workflow', { name: 'Private', shots: [{ prompt: 'p' }] });
      const seen = await callTool(cb.client, 'get_workflow', { id: wf.id });
      expect(seen.error.code).toBe('not_found');
      expect((await ok(cb.client, 'list_workflows')).data).toHaveLength(0);
    } finally {
      await ca.close();
      await cb.close();
    }
  });
});
