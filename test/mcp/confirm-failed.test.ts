/**
 * A client that can ask its user, whose answer to the question is no answer: an error from its
 * elicitation handler, or content that does not fit the question. The tool call is an isError
 * result saying nothing was sent, and nothing is: before, it failed as a JSON-RPC error (-32603
 * Internal error for the client's own failure, -32602 for its bad answer), as if the server broke.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lavendly } from '../../generated/sdk.gen.js';
import { createMcpServer } from '../../packages/mcp/src/server.js';
import { errorBody } from './helpers.js';

/** An API that records what reaches it; reads of the workflow and its price answer 404. */
const requests: string[] = [];
const api = http.createServer((req, res) => {
  requests.push(`${req.method} ${req.url}`);
  res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"no"}}');
});
let baseUrl: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await new Promise((resolve) => api.close(resolve));
});

async function callWithAnswer(answer: () => Promise<unknown>): Promise<CallToolResult> {
  const server = createMcpServer({ client: new Lavendly({ apiKey: 'lvd_x', baseUrl, maxRetries: 0 }) });
  const client = new Client({ name: 'confirm-failed', version: '0' }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, answer as never);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(b), client.connect(a)]);
  try {
    return (await client.callTool({ name: 'generate_scene', arguments: { id: 'wf_1' } })) as CallToolResult;
  } finally {
    await client.close();
  }
}

describe('a question to the user that gets no usable answer', () => {
  it.each([
    ['the client fails to ask', async () => { throw new Error('user closed the dialog'); }, /user closed the dialog/],
    ['the answer does not fit the question', async () => ({ action: 'accept', content: { confirm: 'yes' } }), /does not match requested schema/],
  ])('%s: an isError result, and nothing is sent', async (_name, answer, reason) => {
    requests.length = 0;
    const result = await callWithAnswer(answer);
    expect(result.isError).toBe(true);
    const body = errorBody(result)!;
    expect(body.error.code).toBe('confirmation_failed');
    expect(body.error.message).toMatch(reason);
    expect(body.error.message).toMatch(/Nothing was sent\.$/);
    expect(body.next_step).toMatch(/^Nothing was done or charged/);
    // Only the reads that describe the call (the workflow, its price): no generation was asked for.
    expect(requests.filter((r) => !r.startsWith('GET '))).toEqual([]);
  });
});
