/**
 * Calls that post publicly or spend credits wait for the user's yes: asked through elicitation
 * when the client supports it (declining sends nothing), else `confirm: true` is required. And
 * tools whose effect repeats act once for identical calls, even without an idempotency_key.
 */
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectChannel } from '../../src/publish/channels.js';
import { insertFinishedRender } from '../publish-http/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { callTool, connect, ok, type Connected, type TransportKind } from './helpers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer('sqlite');
});
afterAll(async () => {
  await server?.close();
});

/** An account with a rendered workflow and a connected channel, ready to publish. */
async function readyToPublish(name: string) {
  const acc = await server.account({ credits: 100, name });
  const wf = await ok((await connect('http', server, acc.key)).client, 'create_workflow', { name: 'Bookshop fox', shots: [{ prompt: 'a fox', duration_s: 2 }] });
  await insertFinishedRender(server.fresh.db, server.fresh.dataDir, acc.id, wf.id);
  const channel = await connectChannel(server.fresh.db, { accountId: acc.id, platform: 'local', name: 'Review folder', credentials: {} }, { dataDir: server.fresh.dataDir });
  const posts = async () => (await server.fresh.db('publications').where({ workflow_id: wf.id })).length;
  /** The same count as the API reports it (the workflow's `publications`, absent before any). */
  const apiPosts = async () => {
    const res = await fetch(`${server.base}/workflows/${wf.id}`, { headers: { authorization: `Bearer ${acc.key}` } });
    expect(res.status).toBe(200);
    return (((await res.json()).publications ?? []) as unknown[]).length;
  };
  return { acc, wf, channel, posts, apiPosts };
}

describe.each<TransportKind>(['http', 'stdio'])('a client without elicitation (%s)', (kind) => {
  it('cannot publish without confirm: true; with it, two identical calls make one post', async () => {
    const { acc, wf, channel, posts } = await readyToPublish(`confirm ${kind}`);
    const c = await connect(kind, server, acc.key);
    try {
      const { tools } = await c.client.listTools();
      const publish = tools.find((t) => t.name === 'publish_video')!;
      expect(Object.keys(publish.inputSchema.properties ?? {})).toContain('confirm');
      expect(publish.description).toMatch(/confirm: true/);

      const unconfirmed = await callTool(c.client, 'publish_video', { id: wf.id, channel_id: channel.id, title: 'Fox' });
      expect(unconfirmed.isError).toBe(true);
      expect(unconfirmed.error.code).toBe('confirmation_required');
      // The agent is told what to put to the user: the channel by name, and the workflow.
      expect(unconfirmed.nextStep).toMatch(/Review folder/);
      expect(unconfirmed.nextStep).toMatch(/Bookshop fox/);
      expect(await posts()).toBe(0);

      const args = { id: wf.id, channel_id: channel.id, title: 'Fox', confirm: true };
      const first = await callTool(c.client, 'publish_video', args);
      expect(first.isError, first.text).toBe(false);
      const second = await callTool(c.client, 'publish_video', args);
      expect(second.isError, second.text).toBe(false);
      expect(second.json.id).toBe(first.json.id);
      expect(await posts()).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('generate_scene without confirm: true reserves nothing; create_render without max_credits never spends', async () => {
    const acc = await server.account({ credits: 100, name: `spend ${kind}` });
    const c = await connect(kind, server, acc.key);
    try {
      const wf = await ok(c.client, 'create_workflow', { name: 'Spend test', shots: [{ prompt: 'a fox', duration_s: 2 }] });
      const gen = await callTool(c.client, 'generate_scene', { id: wf.id });
      expect(gen.error.code).toBe('confirmation_required');
      expect(gen.nextStep).toMatch(/\d+ credits/);
      const render = await callTool(c.client, 'create_render', { id: wf.id });
      expect(render.error.code).toBe('max_credits_exceeded');
      expect(render.nextStep).toMatch(/max_credits = \d+/);
      const spend = await callTool(c.client, 'create_render', { id: wf.id, max_credits: 50 });
      expect(spend.error.code).toBe('confirmation_required');
      expect((await ok(c.client, 'get_ledger')).reserved).toBe(0);
    } finally {
      await c.close();
    }
  });
});

/** A client that can ask its user; `asked` collects the questions, `answer` decides the reply. */
async function elicitingClient(kind: TransportKind, key: string) {
  const c = await connect(kind, server, key, { capabilities: { elicitation: {} } });
  const state = { asked: [] as string[], answer: 'decline' as 'decline' | 'accept' };
  c.client.setRequestHandler(ElicitRequestSchema, async (request) => {
    state.asked.push(request.params.message);
    return state.answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
  });
  return { c, state };
}

describe.each<TransportKind>(['http', 'stdio'])('a client with elicitation (%s)', (kind) => {
  it('is asked before a schedule, with the target; declining posts nothing, accepting posts once', async () => {
    const { acc, wf, channel, posts } = await readyToPublish(`elicit ${kind}`);
    const { c, state } = await elicitingClient(kind, acc.key);
    const { asked } = state;
    try {
      const when = new Date(Date.now() + 86_400_000).toISOString().slice(0, 16);
      // confirm: true does not skip the question when the client can ask the user.
      const declined = await callTool(c.client, 'schedule_video', { id: wf.id, channel_id: channel.id, local_time: when, time_zone: 'UTC', confirm: true });
      expect(declined.isError).toBe(true);
      expect(declined.error.code).toBe('declined');
      expect(asked).toHaveLength(1);
      expect(asked[0]).toMatch(/Review folder/);
      expect(asked[0]).toMatch(/Bookshop fox/);
      expect(asked[0]).toContain(when);
      expect(await posts()).toBe(0);

      state.answer = 'accept';
      const accepted = await callTool(c.client, 'schedule_video', { id: wf.id, channel_id: channel.id, local_time: when, time_zone: 'UTC' });
      expect(accepted.isError, accepted.text).toBe(false);
      expect(accepted.json.status).toBe('scheduled');
      expect(asked).toHaveLength(2);
      expect(await posts()).toBe(1);
    } finally {
      await c.close();
    }
  });
});

/** The session id the HTTP client was given when it initialized (undefined: stateless). */
function sessionOf(c: Connected): string | undefined {
  return (c.client.transport as StreamableHTTPClientTransport).sessionId;
}

/** A raw tools/list POST on a session, as another client might send it. */
function listOnSession(key: string, sessionId: string) {
  return fetch(`${server.origin}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
}

describe('elicitation over Streamable HTTP (sessions)', () => {
  it('asks before publish_video on the call\'s own stream; declining posts nothing, accepting posts once', async () => {
    const { acc, wf, channel, apiPosts } = await readyToPublish('elicit publish http');
    const { c, state } = await elicitingClient('http', acc.key);
    try {
      expect(sessionOf(c)).toMatch(/^[0-9a-f-]{36}$/);
      const declined = await callTool(c.client, 'publish_video', { id: wf.id, channel_id: channel.id, title: 'Fox' });
      expect(declined.error.code).toBe('declined');
      expect(state.asked).toHaveLength(1);
      expect(state.asked[0]).toMatch(/Review folder \(local, /);
      expect(state.asked[0]).toMatch(/Bookshop fox/);
      expect(await apiPosts()).toBe(0);

      state.answer = 'accept';
      const accepted = await callTool(c.client, 'publish_video', { id: wf.id, channel_id: channel.id, title: 'Fox' });
      expect(accepted.isError, accepted.text).toBe(false);
      expect(state.asked).toHaveLength(2);
      expect(await apiPosts()).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('names the price before credits are spent; declining reserves nothing', async () => {
    const acc = await server.account({ credits: 100, name: 'elicit spend http' });
    const { c, state } = await elicitingClient('http', acc.key);
    try {
      const wf = await ok(c.client, 'create_workflow', { name: 'Spend test', shots: [{ prompt: 'a fox', duration_s: 2 }] });
      const gen = await callTool(c.client, 'generate_scene', { id: wf.id });
      expect(gen.error.code).toBe('declined');
      expect(state.asked[0]).toMatch(/\d+ credits \(100 available\)/);
      expect((await ok(c.client, 'get_ledger')).reserved).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('a client without elicitation gets no session (stateless, confirm: true as before)', async () => {
    const acc = await server.account({ credits: 0, name: 'no session' });
    const c = await connect('http', server, acc.key);
    try {
      expect(sessionOf(c)).toBeUndefined();
    } finally {
      await c.close();
    }
  });

  it('a session answers only its own key; unknown or ended sessions answer 404', async () => {
    const owner = await server.account({ credits: 0, name: 'session owner' });
    const other = await server.account({ credits: 0, name: 'session intruder' });
    const { c } = await elicitingClient('http', owner.key);
    try {
      const id = sessionOf(c)!;
      const mine = await listOnSession(owner.key, id);
      expect(mine.status).toBe(200);
      await mine.body?.cancel();

      const theirs = await listOnSession(other.key, id);
      expect(theirs.status).toBe(403);
      expect((await theirs.json()).error.message).toMatch(/another API key/);
      const noKey = await listOnSession('lav_not_a_real_key', id);
      expect(noKey.status).toBe(401);

      const unknown = await listOnSession(owner.key, '00000000-0000-4000-8000-000000000000');
      expect(unknown.status).toBe(404);
      expect((await unknown.json()).error.code).toBe(-32001);

      // DELETE ends it; the id is then unknown.
      await (c.client.transport as StreamableHTTPClientTransport).terminateSession();
      const ended = await listOnSession(owner.key, id);
      expect(ended.status).toBe(404);
      await ended.body?.cancel();
    } finally {
      await c.close();
    }
  });
});

describe('shutdown with MCP sessions open', () => {
  it('ends every session, even one whose tool call waits for the user, so the listener closes', { timeout: 60_000 }, async () => {
    const own = await startTestServer('sqlite');
    try {
      const acc = await own.account({ credits: 100, name: 'shutdown' });
      const c = await connect('http', own, acc.key, { capabilities: { elicitation: {} } });
      let asked!: () => void;
      const question = new Promise<void>((resolve) => { asked = resolve; });
      c.client.setRequestHandler(ElicitRequestSchema, () => {
        asked();
        return new Promise(() => {}); // the user never answers
      });
      const wf = await ok(c.client, 'create_workflow', { name: 'Shutdown', shots: [{ prompt: 'a fox', duration_s: 2 }] });
      const waiting = callTool(c.client, 'generate_scene', { id: wf.id }, 120_000).catch((err: Error) => err);
      await question;
      expect(own.app.mcpSessions.size).toBe(1);
      // A grace far beyond the test's timeout: only giving up the question lets this end.
      await own.running.close(600_000);
      expect(own.app.mcpSessions.size).toBe(0);
      // The call is answered (nothing was sent) before its session ends, not left to time out.
      const answered = await waiting;
      expect(answered).not.toBeInstanceOf(Error);
      const r = answered as Awaited<ReturnType<typeof callTool>>;
      expect(r.isError).toBe(true);
      expect(r.error.code).toBe('confirmation_failed');
      expect(r.error.message).toContain('Nothing was sent');
      await c.close();
    } finally {
      await own.close();
    }
  });
});
