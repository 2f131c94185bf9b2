/**
 * Calls that post publicly or spend credits wait for the user's yes: asked through elicitation
 * when the client supports it (declining sends nothing), else `confirm: true` is required. And
 * tools whose effect repeats act once for identical calls, even without an idempotency_key.
 */
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectChannel } from '../../src/publish/channels.js';
import { insertFinishedRender } from '../publish-http/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { callTool, connect, connectStdio, ok, type TransportKind } from './helpers.js';

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
  return { acc, wf, channel, posts };
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

describe('a client with elicitation (stdio)', () => {
  it('is asked before a publish, with the target; declining posts nothing, accepting posts once', async () => {
    const { acc, wf, channel, posts } = await readyToPublish('elicit');
    const c = await connectStdio(server.base, acc.key, { capabilities: { elicitation: {} } });
    const asked: string[] = [];
    let answer: 'decline' | 'accept' = 'decline';
    c.client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params.message);
      return answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
    });
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

      answer = 'accept';
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
