/**
 * The per-process store of MCP sessions stays bounded: past its cap the oldest session is closed,
 * an idle one is closed when next looked up or swept, and shutdown closes them all.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { McpSessions } from '../../src/mcp/sessions.js';

async function session(keyId = 'key_1', accountId = 'acc_1') {
  const server = new Server({ name: 'test', version: '1.0.0' }, { capabilities: {} });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => 'unused' });
  const closed = new Promise<void>((resolve) => { transport.onclose = () => resolve(); });
  await server.connect(transport);
  return { entry: { server, transport, keyId, accountId, lastUsed: performance.now() }, closed };
}

describe('McpSessions', () => {
  it('closes the oldest session to stay within its cap', async () => {
    const store = new McpSessions({ max: 2 });
    const [a, b, c] = [await session(), await session(), await session()];
    store.add('a', a.entry);
    store.add('b', b.entry);
    store.add('c', c.entry);
    await a.closed;
    expect(store.size).toBe(2);
    expect(store.use('a')).toBeUndefined();
    expect(store.use('b')).toBe(b.entry);
    expect(store.use('c')).toBe(c.entry);
    store.closeAll();
    await Promise.all([b.closed, c.closed]);
    expect(store.size).toBe(0);
  });

  it("past an account's own cap closes that account's oldest session, not another account's", async () => {
    // Before, one key opening sessions it never ended pushed every other account's out of the store.
    const store = new McpSessions({ max: 10, maxPerAccount: 2 });
    const other = await session('key_b', 'acc_b');
    store.add('b', other.entry);
    const mine = [await session('key_a', 'acc_a'), await session('key_a2', 'acc_a'), await session('key_a', 'acc_a')];
    mine.forEach((s, i) => store.add(`a${i}`, s.entry));
    expect(store.use('a0')).toBeUndefined();
    await mine[0]!.closed;
    expect(store.use('a1')).toBe(mine[1]!.entry);
    expect(store.use('a2')).toBe(mine[2]!.entry);
    expect(store.use('b')).toBe(other.entry);
    expect(store.size).toBe(3);
    store.closeAll();
  });

  it('closes a session once it has been idle too long', async () => {
    const store = new McpSessions({ idleMs: 60_000 });
    const s = await session();
    store.add('s', s.entry);
    expect(store.use('s')).toBe(s.entry);
    s.entry.lastUsed = performance.now() - 60_001; // as if a minute had passed without a request
    store.closeIdle();
    await s.closed;
    expect(store.use('s')).toBeUndefined();
    store.closeAll();
  });
});
