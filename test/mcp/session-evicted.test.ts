/**
 * A session closed while a tool call of its own is running (pushed out by its account's 51st
 * session, or by the process's cap) answers that call first: its client gets the result, and
 * then 404 for anything else. Before, the call's response stream was closed without an answer and
 * the official client waited for one until its own timeout (60 s by default).
 */
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/server.js';
import { connectHttp, ok, type Connected } from './helpers.js';

const PER_ACCOUNT = 50; // docs/MCP.md: at most 50 sessions of one account

describe('an MCP session pushed out by newer ones', () => {
  it('answers its running tool call before it ends', async () => {
    const server = await startTestServer('sqlite');
    const opened: Connected[] = [];
    try {
      const { key } = await server.account({ credits: 100 });
      const session = async () => {
        const c = await connectHttp(server.origin, key, { capabilities: { elicitation: {} } });
        c.client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { confirm: true } }));
        opened.push(c);
        return c;
      };
      const oldest = await session();
      // No jobs worker runs here: the generation stays queued and a wait_s call waits.
      const wf = await ok(oldest.client, 'create_workflow', { name: 'Evicted', shots: [{ prompt: 'a fox', duration_s: 2 }] });
      await ok(oldest.client, 'generate_scene', { id: wf.id });
      let ticks = 0;
      let inPoll!: () => void;
      const polling = new Promise<void>((resolve) => { inPoll = resolve; });
      const waiting = oldest.client.callTool({ name: 'get_generation_status', arguments: { id: wf.id, wait_s: 5 } }, undefined, {
        timeout: 20_000,
        onprogress: () => { if (++ticks === 2) inPoll(); },
      });
      await polling;
      for (let i = 0; i < PER_ACCOUNT; i++) await session();
      expect(server.app.mcpSessions.size).toBe(PER_ACCOUNT);

      const result = (await waiting) as { isError?: boolean; content: { text?: string }[] };
      expect(result.isError, JSON.stringify(result)).toBeFalsy();
      expect(JSON.parse(result.content[0]!.text!).workflow_id).toBe(wf.id);
      const after = await oldest.client.callTool({ name: 'get_ledger', arguments: {} }).then(() => null, (err: unknown) => err);
      expect(after).toBeInstanceOf(StreamableHTTPError);
      expect((after as StreamableHTTPError).code).toBe(404);
      // The 404 says why, rather than suggest it expired or lives on another process.
      expect((after as Error).message).toContain(`its account opened more than ${PER_ACCOUNT} sessions`);
    } finally {
      await Promise.all(opened.map((c) => c.close().catch(() => {})));
      await server.close();
    }
  }, 60_000);
});
