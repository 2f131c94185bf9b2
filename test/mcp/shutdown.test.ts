/**
 * A server shutting down (SIGTERM, a deploy) while MCP tool calls wait: each is answered with what
 * it has, over both kinds of `/mcp` client, before the listener closes.
 * Before, a session's running call had its response stream closed without an answer and the
 * official client waited for one until its own timeout (60 s by default), and a stateless
 * `wait_s` call outlived the grace period and lost its connection ("fetch failed").
 */
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../helpers/db.js';
import { startTestServer } from '../helpers/server.js';
import { connectHttp, ok } from './helpers.js';

describe.each(testDatabases())('MCP tool calls when the server shuts down (%s)', (kind) => {
  it('a waiting call in a session and a stateless one are both answered, not cut off', async () => {
    const server = await startTestServer(kind);
    let closed = false;
    try {
      const { key } = await server.account({ credits: 100 });
      const stateless = await connectHttp(server.origin, key);
      const session = await connectHttp(server.origin, key, { capabilities: { elicitation: {} } });
      session.client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'decline' }));
      // No jobs worker runs here: the generation stays queued and a wait_s call waits its 30 s.
      const wf = await ok(stateless.client, 'create_workflow', { name: 'Shutdown', shots: [{ prompt: 'a fox', duration_s: 2 }] });
      await ok(stateless.client, 'generate_scene', { id: wf.id, confirm: true });

      // Each call sends a progress notification at once and another a second later: by the
      // second, its request to the API is in its long-poll.
      const waiting = [stateless, session].map((c) => {
        let ticks = 0;
        let inPoll!: () => void;
        const polling = new Promise<void>((resolve) => { inPoll = resolve; });
        const result = c.client.callTool({ name: 'get_generation_status', arguments: { id: wf.id, wait_s: 30 } }, undefined, {
          // Shorter than the wait: a call left unanswered fails the test instead of outlasting it.
          timeout: 20_000,
          onprogress: () => { if (++ticks === 2) inPoll(); },
        });
        return { result, polling };
      });
      await Promise.all(waiting.map((w) => w.polling));
      expect(server.app.mcpSessions.size).toBe(1);

      await server.running.close(2_000);
      closed = true;
      for (const w of waiting) {
        const result = (await w.result) as { isError?: boolean; content: { type: string; text?: string }[] };
        expect(result.isError, JSON.stringify(result)).toBeFalsy();
        const status = JSON.parse(result.content[0]!.text!);
        expect(status.workflow_id).toBe(wf.id);
        expect(status.status).toBe('queued');
      }
      expect(server.app.mcpSessions.size).toBe(0);
      await Promise.all([stateless.close(), session.close()]);
    } finally {
      if (!closed) await server.running.close(0);
      await server.fresh.close();
    }
  }, 60_000);

  it('a client that initializes while the server drains gets no session, so nothing holds the shutdown', async () => {
    // The drain delay keeps serving while /readyz fails, for a load balancer to notice. A session
    // opened then was never closed: the drain had already ended the sessions it knew of.
    const server = await startTestServer(kind, { drainDelayMs: 1_500 });
    const { key } = await server.account({ credits: 100 });
    const closing = server.running.close(2_000);
    try {
      const late = await connectHttp(server.origin, key, { capabilities: { elicitation: {} } });
      const transport = late.client.transport as { sessionId?: string };
      expect(transport.sessionId).toBeUndefined();
      const tools = await late.client.listTools();
      expect(tools.tools.some((t) => t.name === 'create_workflow')).toBe(true);
      expect(server.app.mcpSessions.size).toBe(0);
      await late.close();
    } finally {
      await closing;
      await server.fresh.close();
    }
    expect(server.app.mcpSessions.size).toBe(0);
  }, 60_000);
});
