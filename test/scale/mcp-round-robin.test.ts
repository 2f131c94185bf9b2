/**
 * Two server processes on one database behind a load balancer without sticky sessions (each
 * request to the next process in turn), driven by the official MCP client as an agent would.
 *
 * With sessions on (the default), a client that declares elicitation gets a session on one process
 * and a 404 naming the cause from the other: a clear error, not a 500 or a hang, and a client
 * without elicitation works. With LAVENDLY_MCP_SESSIONS=off, the same elicitation-capable client
 * runs the whole flow (create, estimate, generate, review, render, publish), passing
 * `confirm: true` as every client without a session does. Before that setting, such a client
 * could not even finish connecting there.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/accounts/accounts.js';
import { grant } from '../../src/ledger/index.js';
import { connectChannel } from '../../src/publish/channels.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../helpers/round-robin-proxy.js';
import { startTestServer } from '../helpers/server.js';
import { ok, poll } from '../mcp/helpers.js';
import { childEnv, startServeProcess, type CliProcess } from '../publish-http/processes.js';

async function mcpClient(origin: string, key: string, elicitation: boolean): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${origin}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${key}` } } });
  const client = new Client({ name: 'round-robin-test', version: '1.0.0' }, elicitation ? { capabilities: { elicitation: {} } } : {});
  if (elicitation) client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { confirm: true } }));
  await client.connect(transport);
  return client;
}

async function newAccount(fresh: FreshDb, credits: number) {
  return createAccount(fresh.db, { name: 'Round robin', scopes: [], credits }, async (db, id, amount, reason) => {
    await grant(db, id, amount, reason);
  });
}

describe.each(testDatabases())('MCP through a round-robin load balancer (%s)', (kind) => {
  it('with sessions on, an elicitation client is told its session lives elsewhere; a client without elicitation works', async () => {
    const a = await startTestServer(kind);
    const b = await startTestServer(kind, { fresh: a.fresh });
    const proxy = await startRoundRobinProxy([a.origin, b.origin]);
    try {
      const { key } = await a.account({ credits: 0 });
      // initialize lands on one process (a session there), notifications/initialized on the other.
      const refused = await mcpClient(proxy.origin, key, true).then(() => null, (err: unknown) => err);
      expect(refused).toBeInstanceOf(StreamableHTTPError);
      expect((refused as StreamableHTTPError).code).toBe(404);
      expect((refused as Error).message).toContain('Session not found');
      expect((refused as Error).message).toContain('another server process');
      // What docs/MCP.md tells such a client to fall back to: a client without elicitation.
      const fallback = await mcpClient(proxy.origin, key, false);
      for (let i = 0; i < 4; i++) expect((await ok(fallback, 'get_ledger')).available).toBe(0);
      await fallback.close();
    } finally {
      await proxy.close();
      await b.close();
      await a.close();
    }
  }, 60_000);

  describe('with LAVENDLY_MCP_SESSIONS=off on two serve processes', () => {
    let fresh: FreshDb;
    let apis: Array<CliProcess & { origin: string }> = [];
    let proxy: RoundRobinProxy;

    beforeAll(async () => {
      fresh = await freshDb(kind);
      const env = childEnv(fresh, { LAVENDLY_SIGNING_SECRET: 'round-robin-test-secret', LAVENDLY_MCP_SESSIONS: 'off' });
      // One at a time: each applies the migrations at start.
      apis.push(await startServeProcess(env));
      apis.push(await startServeProcess(env));
      proxy = await startRoundRobinProxy(apis.map((api) => api.origin));
    }, 120_000);

    afterAll(async () => {
      await proxy?.close();
      await Promise.all(apis.map((api) => api.stop()));
      apis = [];
      await fresh?.close();
    });

    it('an elicitation-capable agent runs create -> estimate -> generate -> review -> render -> publish', async () => {
      const { account, apiKey } = await newAccount(fresh, 100);
      const channel = await connectChannel(fresh.db, { accountId: account.id, platform: 'youtube', name: 'Round robin', credentials: { access_token: 'never-used' } }, { dataDir: fresh.dataDir });
      const agent = await mcpClient(proxy.origin, apiKey.key, true);
      try {
        const wf = await ok(agent, 'create_workflow', { name: 'Round robin', shots: [{ prompt: 'a fox', duration_s: 2 }, { prompt: 'a map', duration_s: 2 }] });
        const estimate = await ok(agent, 'estimate_cost', { id: wf.id });
        expect(estimate.total).toBeGreaterThan(0);
        await ok(agent, 'generate_scene', { id: wf.id, confirm: true });
        const generated = await poll(() => ok(agent, 'get_generation_status', { id: wf.id, wait_s: 10 }), (s) => s.status === 'succeeded' || s.status === 'failed', 180_000, 0);
        expect(generated.status, JSON.stringify(generated)).toBe('succeeded');
        const review = await ok(agent, 'review_scenes', { id: wf.id });
        expect(review.reviewed).toBe(2);
        const render = await ok(agent, 'create_render', { id: wf.id });
        const rendered = await poll(() => ok(agent, 'get_render', { id: wf.id, job_id: render.id, wait_s: 10 }), (r) => ['succeeded', 'failed', 'canceled'].includes(r.status), 180_000, 0);
        expect(rendered.status, JSON.stringify(rendered)).toBe('succeeded');
        const channels = await ok(agent, 'list_channels');
        expect(channels.data.map((c: any) => c.id)).toContain(channel.id);
        // Due tomorrow, so nothing is sent to YouTube during the test.
        const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
        const post = await ok(agent, 'schedule_video', { id: wf.id, channel_id: channel.id, local_time: `${tomorrow}T09:00`, time_zone: 'UTC', title: 'Round robin', confirm: true });
        expect(post.status).toBe('scheduled');
        const ledger = await ok(agent, 'get_ledger');
        expect(ledger.reserved).toBe(0);
        expect(100 - ledger.available).toBe(estimate.total);
      } finally {
        await agent.close();
      }
      // Both processes answered the agent's requests.
      expect(new Set(proxy.routed).size).toBe(2);
    }, 400_000);
  });
});
