/**
 * A JSON-RPC request whose params do not fit its method answers -32602 Invalid params, naming the
 * field (packages/mcp/src/invalid-params.ts). SDK 1.x answered -32603 Internal error there, with
 * zod's issue list as the message. Raw requests over the real `/mcp` endpoint: the official
 * client checks its own requests and would never send these.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let key: string;
beforeAll(async () => {
  server = await startTestServer('sqlite');
  key = (await server.account({ credits: 10 })).key;
});
afterAll(async () => server?.close());

async function rpc(method: string, params: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.origin}/mcp`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return { status: res.status, body: await res.json() };
}

describe('MCP requests with params that do not fit their method', () => {
  it.each([
    ['tools/call', {}, 'params.name'],
    ['tools/call', { name: 'list_workflows', arguments: 'all of them' }, 'params.arguments'],
    ['resources/read', { uri: 5 }, 'params.uri'],
    ['prompts/get', { name: 3 }, 'params.name'],
    ['logging/setLevel', { level: 'loud' }, 'params.level'],
    ['initialize', { protocolVersion: 5 }, 'params.protocolVersion'],
  ])('%s %j answers -32602 naming %s', async (method, params, field) => {
    const { status, body } = await rpc(method, params);
    expect(status).toBe(200);
    expect(body.error.code).toBe(-32602);
    expect(body.error.message).toContain(`Invalid params for ${method}: ${field}:`);
    expect(body.error.message).not.toContain('"code"'); // not zod's issue list as JSON
  });

  it('well-formed requests of the same methods still answer', async () => {
    const listed = await rpc('tools/call', { name: 'list_workflows', arguments: {} });
    expect(listed.body.result.structuredContent).toMatchObject({ data: [] });
    expect((await rpc('logging/setLevel', { level: 'info' })).body.result).toEqual({});
    expect((await rpc('tools/call', { name: 'nope', arguments: {} })).body.error).toMatchObject({ code: -32602, message: expect.stringMatching(/Unknown tool 'nope'/) });
  });
});
