/**
 * What `/mcp` does with a request body it cannot take as sent: the JSON-RPC error with the right
 * HTTP status, held to what the REST API accepts (uncompressed UTF-8 JSON), and nothing stored.
 * Before, a body over 4 MB answered a bare 500 (the 413 was lost), bytes that are not UTF-8 were
 * stored as U+FFFD, a charset=latin1 body was read as UTF-8, gzip answered "Invalid JSON", and a
 * message that is not JSON-RPC answered -32700 "Invalid JSON-RPC message" without saying why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { UNKEEPABLE_MESSAGES } from '../helpers/unkeepable-messages.js';

let server: TestServer;
let key: string;
beforeAll(async () => {
  server = await startTestServer('sqlite');
  ({ key } = await server.account({ credits: 0 }));
});
afterAll(async () => {
  await server?.close();
});

async function post(body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.origin}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as any };
}

const createWorkflow = (name: string) => `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"create_workflow","arguments":{"name":"${name}","shots":[{"prompt":"p"}],"idempotency_key":"${name.length}-${Math.random()}"}}}`;

async function workflowNames(): Promise<string[]> {
  const res = await fetch(`${server.base}/workflows`, { headers: { authorization: `Bearer ${key}` } });
  return ((await res.json()) as { data: { name: string }[] }).data.map((w) => w.name);
}

describe('/mcp request bodies', () => {
  it('over the limit: 413 with the JSON-RPC error, not a bare 500', async () => {
    const big = `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"${'a'.repeat(5 * 1024 * 1024)}"}}`;
    const { status, json } = await post(big);
    expect(status).toBe(413);
    expect(json).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Payload Too Large: Request body must not exceed 4194304 bytes' } });
    // The connection is still usable and the server still answers.
    expect((await post('{"jsonrpc":"2.0","id":2,"method":"ping"}')).json.result).toEqual({});
  });

  it('bytes that are not UTF-8: -32700, and nothing is created', async () => {
    // Latin-1 bytes: the name's é is 0xE9, not UTF-8; it used to be stored as "caf\uFFFD".
    const { status, json } = await post(Buffer.from(createWorkflow('caf\u00e9'), 'latin1'));
    expect(status).toBe(400);
    expect(json.error).toEqual({ code: -32700, message: 'Parse error: The body is not valid UTF-8.' });
    expect(await workflowNames()).toEqual([]);
  });

  it('a charset other than UTF-8, or a compressed body: 415 saying what to send', async () => {
    const latin1 = await post(Buffer.from(createWorkflow('caf\u00e9'), 'latin1'), { 'content-type': 'application/json; charset=latin1' });
    expect(latin1.status).toBe(415);
    expect(latin1.json.error.message).toBe('Unsupported Media Type: JSON-RPC bodies must be UTF-8, not charset=latin1.');
    const gzip = await post(Buffer.from([0x1f, 0x8b, 0x08, 0x00]), { 'content-encoding': 'gzip' });
    expect(gzip.status).toBe(415);
    expect(gzip.json.error.message).toMatch(/compressed request bodies \(Content-Encoding: gzip\) are not accepted; send the body uncompressed/);
    expect(await workflowNames()).toEqual([]);
    // UTF-8, declared or with a BOM, is fine.
    expect((await post('\uFEFF{"jsonrpc":"2.0","id":3,"method":"ping"}', { 'content-type': 'application/json; charset="UTF-8"' })).json.result).toEqual({});
  });

  it('JSON that is not JSON-RPC: -32600 saying what is wrong, with the id when it has one', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['{"jsonrpc":"1.0","id":4,"method":"ping"}', 4, /"jsonrpc" must be "2.0" \(got "1.0"\)/],
      ['{"jsonrpc":"2.0","id":"a","method":5}', 'a', /"method" must be a string/],
      ['{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}', null, /"id" must be a string or an integer/],
      ['[]', null, /an empty batch/],
      ['42', null, /a message must be a JSON object/],
    ];
    for (const [body, id, message] of cases) {
      const { status, json } = await post(body);
      expect(status, body).toBe(400);
      expect(json.id, body).toBe(id);
      expect(json.error.code, body).toBe(-32600);
      expect(json.error.message, body).toMatch(message);
    }
    const bad = await post('{bad');
    expect(bad.json.error).toEqual({ code: -32700, message: expect.stringMatching(/^Parse error: Malformed JSON: .+/) });
    // The REST API's depth limit, from the same reader: JSON, so not a parse error (it was -32700).
    const deep = await post(`${'['.repeat(100)}${']'.repeat(100)}`);
    expect(deep.status).toBe(400);
    expect(deep.json).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: 0.0.0.0.0.0.0.0…: JSON nested deeper than 64 levels.' } });
    const unclosed = await post('['.repeat(100));
    expect(unclosed.json.error).toEqual({ code: -32700, message: 'Parse error: JSON nested deeper than 64 levels.' });
  });

  it('JSON the API could not keep as sent (too deep, __proto__, 1e400): what stdio answers, with the request id', async () => {
    // Before: -32700 Parse error with id null for every one, which no client can match to its call.
    for (const c of UNKEEPABLE_MESSAGES) {
      const { status, json } = await post(c.line);
      // Invalid params answer the request (200, as the server's own -32602 do); Invalid Request is a 400.
      expect(status, c.line.slice(0, 80)).toBe(c.code === -32602 ? 200 : 400);
      expect(json, c.line.slice(0, 80)).toEqual({ jsonrpc: '2.0', id: c.id, error: { code: c.code, message: c.message } });
    }
    expect(await workflowNames()).toEqual([]);
  });

  it('the official client gets the -32602 for its own call, not an HTTP error', async () => {
    const client = new Client({ name: 'http-body-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.origin}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
    try {
      // JSON.parse makes `__proto__` an own key, which the client sends as it is.
      const args = JSON.parse('{"name":"proto","shots":[{"prompt":"p"}],"__proto__":{"admin":true}}') as Record<string, unknown>;
      await expect(client.callTool({ name: 'create_workflow', arguments: args })).rejects.toMatchObject({
        code: -32602,
        message: expect.stringContaining('params.arguments.__proto__: A key named __proto__ is not accepted'),
      });
      expect(await workflowNames()).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
