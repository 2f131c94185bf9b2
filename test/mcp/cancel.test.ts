/**
 * A tool call that waits (`wait_s`) stops waiting on the server when its client goes: cancelled
 * (`notifications/cancelled`, in a session) or disconnected mid-stream. Before, the call's request
 * to the API was aborted but the API's long-poll went on reading the database every 250 ms for
 * the rest of its 30 s, for nobody.
 */
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { connectHttp, ok, poll } from './helpers.js';

let server: TestServer;
beforeAll(async () => { server = await startTestServer('sqlite'); });
afterAll(async () => { await server?.close(); });

/** The access-log line of the API's long-poll for `workflowId`, once the API has answered it. */
function longPollLine(workflowId: string) {
  return server.logs.find((l) => typeof l.path === 'string' && l.path.startsWith(`/v1/workflows/${workflowId}/generation-status`));
}

describe('a waiting MCP tool call whose client goes', () => {
  for (const how of ['cancelled in a session', 'disconnected mid-stream'] as const) {
    it(`ends its long-poll on the server when ${how}`, async () => {
      const { key } = await server.account({ credits: 100 });
      const setup = await connectHttp(server.origin, key);
      // No jobs worker runs here: the generation stays queued and a wait_s call waits its 30 s.
      const wf = await ok(setup.client, 'create_workflow', { name: 'Cancel', shots: [{ prompt: 'a fox', duration_s: 2 }] });
      await ok(setup.client, 'generate_scene', { id: wf.id, confirm: true });
      await setup.close();
      const inSession = how === 'cancelled in a session';
      const c = await connectHttp(server.origin, key, inSession ? { capabilities: { elicitation: {} } } : {});
      if (inSession) c.client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'decline' }));
      const abort = new AbortController();
      let ticks = 0;
      const call = c.client.callTool({ name: 'get_generation_status', arguments: { id: wf.id, wait_s: 30 } }, undefined, {
        signal: abort.signal,
        // The second progress notification comes a second in: the API's long-poll is running.
        onprogress: () => { if (++ticks === 2) (inSession ? abort.abort('the user stopped it') : void c.close()); },
      });
      await expect(call).rejects.toThrow();
      expect(longPollLine(wf.id)).toBeUndefined();
      // Within a fraction of the 30 s it would otherwise have waited.
      const line = await poll(async () => longPollLine(wf.id), (l) => l !== undefined, 15_000, 100);
      expect(line!.duration_ms as number).toBeLessThan(15_000);
      await c.close();
    }, 60_000);
  }
});
