/**
 * `/mcp` builds an MCP server for every stateless request (and keeps one per session): the
 * argument validators are compiled once per tool list and shared, not per server. Compiled per
 * server, every stateless tools/call spent 40-280 ms of CPU compiling its tool's schema before
 * answering (4 ms once shared), and each of up to 1000 sessions held its own copies (~210 KB a
 * session once its tools had been called, against ~80 KB).
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mcpTools } from '../../generated/mcp.gen.js';
import { Lavendly } from '../../generated/sdk.gen.js';
import { createMcpServer } from '../../packages/mcp/src/server.js';
import { selectTools } from '../../packages/mcp/src/filters.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A fresh server, as `/mcp` makes per request, and one refused call of `tool` through it. */
async function callOnNewServer(tool: string, tools = mcpTools): Promise<CallToolResult> {
  const server = createMcpServer({ client: new Lavendly({ apiKey: 'lvd_x', baseUrl: 'http://127.0.0.1:9/v1', maxRetries: 0 }), tools });
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'validator-test', version: '0' });
  await Promise.all([server.connect(b), client.connect(a)]);
  try {
    return (await client.callTool({ name: tool, arguments: { not_an_argument: 1 } })) as CallToolResult;
  } finally {
    await client.close();
  }
}

describe('argument validators', () => {
  it('are compiled once for every server on the same tools, not once per server', async () => {
    const compile = vi.spyOn(Ajv2020.prototype, 'compile');
    for (let i = 0; i < 5; i++) {
      const result = await callOnNewServer('create_workflow');
      expect(result.isError).toBe(true);
      expect((result.content[0] as { text: string }).text).toMatch(/create_workflow takes no argument 'not_an_argument'/);
    }
    expect(compile.mock.calls.length).toBeLessThanOrEqual(1);
  });

  it('a narrower tool list (--read-only) has validators of its own, checking its own tools', async () => {
    const readOnly = selectTools({ readOnly: true });
    const result = await callOnNewServer('list_workflows', readOnly);
    expect((result.content[0] as { text: string }).text).toMatch(/list_workflows takes no argument 'not_an_argument'/);
  });
});
