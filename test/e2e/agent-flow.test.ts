/**
 * Seed 001's sample agent prompt, played through MCP (Streamable HTTP at /mcp) against the server
 * exactly as `lavendly serve` runs it (API + worker) on a fresh SQLite data dir:
 *   1. check the ledger, bail out under 50 available credits
 *   2. create "Bookshop fox" with three 5 s shots
 *   3. estimate_cost and state the price
 *   4. generate_scene for the whole video, polling get_generation_status as each scene lands
 *   5. review_scenes: every scene's quality check and frame in one call (reroll a failing one)
 *   6. render (free), long-poll (wait_s) to a video URL
 *   7. list channels, schedule to YouTube for 9am tomorrow in the account's zone (local_time)
 * The agent's tool calls are counted (13 here; the flow took 17 before wait_s, review_scenes and
 * local_time) and must stay under 17.
 * The credits charged equal the estimate(s), and a retried call with the same idempotency_key
 * creates nothing and charges nothing.
 *
 * It turns itself on once the operations the flow needs no longer answer 501 not_implemented.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { mcpTools, toolRequest } from '../../generated/mcp.gen.js';
import { Lavendly, LavendlyError } from '../../generated/sdk.gen.js';
import { createLogger } from '../../src/http/logging.js';
import { zonedToInstant } from '../../src/accounts/time-zone.js';
import { startTestServer } from '../helpers/server.js';
import { callTool, connectHttp, ok, poll, sampleFor } from '../mcp/helpers.js';

/** The tools the flow calls; each must be built (not 501) for the test to run. */
const FLOW = ['get_ledger', 'create_workflow', 'estimate_cost', 'generate_scene', 'get_generation_status', 'quality_check',
  'get_scene_frame', 'create_render', 'get_render', 'list_channels', 'schedule_video'];

/** Which flow operations still answer 501 on a server with the real handlers. */
async function notBuilt(): Promise<string[]> {
  const server = await startTestServer('sqlite');
  try {
    const { key } = await server.account({ credits: 0 });
    const client = new Lavendly({ apiKey: key, baseUrl: server.base, maxRetries: 0 });
    const missing: string[] = [];
    for (const name of FLOW) {
      const tool = mcpTools.find((t) => t.name === name)!;
      try {
        await client.requestWithResponse(tool.operationId, toolRequest(tool, sampleFor(tool.inputSchema as any)));
      } catch (err) {
        if (err instanceof LavendlyError && err.code === 'not_implemented') missing.push(name);
      }
    }
    return missing;
  } finally {
    await server.close();
  }
}

const missing = await notBuilt().catch((err: Error) => [`(probe failed: ${err.message})`]);
const ready = missing.length === 0;
if (!ready) console.info(`[agent-flow] skipped until these answer something other than 501: ${missing.join(', ')}`);

/** A free port for the server, so that its public URL (signed links) names the port it listens on. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('seed 001 sample agent prompt over MCP', () => {
  it.skipIf(!ready)('runs create -> estimate -> generate -> review -> render -> schedule, charging exactly the estimate', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-agent-'));
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LAVENDLY_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LAVENDLY_PUBLIC_URL: `http://127.0.0.1:${port}`,
      LAVENDLY_RESPONSE_VALIDATION: 'throw',
    };
    delete env.DATABASE_URL;
    const logs: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } }) });
    const { startServe } = await import('../../src/cli/commands/serve.js');
    const { connectChannel } = await import('../../src/publish/channels.js');
    const served = await startServe({ env, out: () => {}, err: () => {} }, { port, host: '127.0.0.1', logger });
    const origin = served.running.origin;
    const { account, apiKey } = await served.ctx.services.accounts.createAccount({ name: 'Agent user', credits: 200 });
    // The user connected YouTube in Settings beforehand (an agent cannot). The post is due tomorrow,
    // so nothing is sent to YouTube during the test.
    await connectChannel(served.ctx.db, { accountId: account.id, platform: 'youtube', name: 'Bookshop Tales', credentials: { access_token: 'test-token-never-used' } }, { dataDir });
    // The user's zone was set in Settings (PATCH /account): "9am tomorrow" is read there.
    const zoned = await fetch(`${origin}/v1/account`, { method: 'PATCH', headers: { authorization: `Bearer ${apiKey.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ time_zone: 'America/New_York' }) });
    expect(zoned.status).toBe(200);
    const mcp = await connectHttp(origin, apiKey.key);
    const client = mcp.client;
    // Every tool call the agent makes for the prompt is counted; the test's own checks use `check`.
    let calls = 0;
    const c = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop === 'callTool') return (...args: unknown[]) => { calls++; return (target.callTool as (...a: unknown[]) => unknown)(...args); };
        return Reflect.get(target, prop, receiver);
      },
    });
    const check = client;
    const said: string[] = []; // what the agent tells the user
    try {
      // 1. Ledger: bail out under 50 available credits.
      const ledger0 = await ok(c, 'get_ledger');
      expect(ledger0.available).toBeGreaterThanOrEqual(50);
      said.push(`You have ${ledger0.available} credits available.`);

      // 2. The three-shot workflow.
      const wf = await ok(c, 'create_workflow', {
        name: 'Bookshop fox',
        idempotency_key: 'bookshop-fox:create',
        shots: [
          { prompt: 'A sleepy fox in a dusty bookshop finds an old map', duration_s: 5 },
          { prompt: 'The old map begins to glow with golden light', duration_s: 5 },
          { prompt: 'The fox steps through a door of light', duration_s: 5 },
        ],
      });
      expect(wf.id).toMatch(/^wf_/);
      expect(wf.scenes).toHaveLength(3);
      const sceneIds: string[] = wf.scenes.map((s: any) => s.node_id);

      // 3. Estimate and state the price (the user says go).
      const estimate = await ok(c, 'estimate_cost', { id: wf.id });
      expect(estimate.per_scene).toHaveLength(3);
      expect(estimate.sufficient).toBe(true);
      expect(estimate.remaining).toBe(estimate.total);
      expect(estimate.total).toBeGreaterThan(0);
      said.push(`This video costs ${estimate.total} credits.`);
      let expectedCharge = estimate.total;

      // 4. Generate the whole video; a retry with the same key changes nothing.
      const gen = await ok(c, 'generate_scene', { id: wf.id, idempotency_key: `${wf.id}:generate`, confirm: true });
      expect(gen.id).toMatch(/^gen_/);
      expect([...gen.scenes].sort()).toEqual([...sceneIds].sort());
      const retried = await callTool(check, 'generate_scene', { id: wf.id, idempotency_key: `${wf.id}:generate`, confirm: true });
      expect(retried.isError, retried.text).toBe(false);
      expect(retried.json).toEqual(gen);

      const landed: string[] = [];
      const finalStatus = await poll(
        () => ok(c, 'get_generation_status', { id: wf.id, wait_s: 30 }),
        (st) => {
          for (const s of st.scenes) {
            if (s.status === 'generated' && s.clip_url && !landed.includes(s.node_id)) {
              landed.push(s.node_id);
              said.push(`Scene ${s.index + 1} is ready (${st.phase}).`);
            }
          }
          return st.status === 'succeeded' || st.status === 'failed';
        },
        300_000, 1_000,
      );
      expect(finalStatus.status, JSON.stringify(finalStatus)).toBe('succeeded');
      expect(finalStatus.generation_id).toBe(gen.id);
      expect(landed.sort()).toEqual([...sceneIds].sort());
      expect(finalStatus.scenes.reduce((sum: number, s: any) => sum + s.credits_charged, 0)).toBe(estimate.total);

      // 5. Review every scene in one call: quality reports and frames (images the agent can show).
      let review = await callTool(c, 'review_scenes', { id: wf.id });
      expect(review.isError, review.text).toBe(false);
      for (const scene of review.json.scenes) {
        expect(scene.quality.probe.has_video).toBe(true);
        if (!scene.quality.pass) {
          const price = await ok(c, 'estimate_cost', { id: wf.id, node_id: scene.node_id });
          expectedCharge += price.total;
          await ok(c, 'generate_scene', { id: wf.id, node_id: scene.node_id, reroll_hint: scene.quality.reroll_hint ?? 'cleaner frame', idempotency_key: `${wf.id}:${scene.node_id}:reroll`, confirm: true });
          await poll(() => ok(c, 'get_generation_status', { id: wf.id, wait_s: 30 }), (st) => st.status === 'succeeded' || st.status === 'failed', 300_000, 0);
        }
      }
      if (!review.json.pass) review = await callTool(c, 'review_scenes', { id: wf.id });
      const images = (review.result.content as any[]).filter((b) => b.type === 'image');
      expect(images).toHaveLength(3);
      for (const scene of review.json.scenes) {
        said.push(`Scene ${scene.index + 1}: quality ${scene.quality.pass ? 'passed' : 'failed'} (score ${scene.quality.score}).`);
        const image = await fetch(scene.frame.url);
        expect(image.status, scene.frame.url).toBe(200);
        expect(image.headers.get('content-type')).toMatch(/^image\//);
      }

      // 6. Render (free) and poll to the URL.
      const render = await ok(c, 'create_render', { id: wf.id, idempotency_key: `${wf.id}:render` });
      expect(render.id).toMatch(/^rnd_/);
      const done = await poll(
        () => ok(c, 'get_render', { id: wf.id, job_id: render.id, wait_s: 30 }),
        (r) => ['succeeded', 'failed', 'canceled'].includes(r.status),
        300_000, 1_000,
      );
      expect(done.status, JSON.stringify(done)).toBe('succeeded');
      expect(done.credits_charged).toBe(0);
      expect(done.scenes_reused).toBe(3);
      expect(done.duration_s).toBeGreaterThan(13);
      const video = await fetch(done.url);
      expect(video.status, done.url).toBe(200);
      expect(video.headers.get('content-type')).toMatch(/^video\//);
      expect((await video.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
      said.push(`Your video: ${done.url}`);

      // 7. Channels, then schedule to YouTube for 9am tomorrow (after the user confirms).
      const channels = await ok(c, 'list_channels');
      expect(channels.connected).toBe(true);
      const youtube = channels.data.find((ch: any) => ch.platform === 'youtube');
      expect(youtube).toBeDefined();
      // "9am tomorrow" in the user's zone: tomorrow's date from the ledger's local time (read at step 1).
      const today = ledger0.local_time.slice(0, 10);
      const tomorrow = new Date(Date.parse(`${today}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      const when = zonedToInstant(`${tomorrow}T09:00`, 'America/New_York').toISOString();
      const scheduleArgs = { id: wf.id, channel_id: youtube.id, local_time: `${tomorrow}T09:00`, title: 'Bookshop fox', caption: 'A fox, a map, a door of light.', idempotency_key: `${wf.id}:schedule`, confirm: true };
      const publication = await ok(c, 'schedule_video', scheduleArgs);
      expect(publication.status).toBe('scheduled');
      expect(Date.parse(publication.scheduled_for)).toBe(Date.parse(when));
      expect(publication.ai_disclosure).toBe(true);
      expect(publication.render_id).toBe(render.id);
      expect(publication.time_zone).toBe('America/New_York');
      expect(publication.scheduled_local).toMatch(new RegExp(`^${tomorrow}T09:00:00-0[45]:00$`));
      const again = await callTool(check, 'schedule_video', scheduleArgs);
      expect(again.json?.id, again.text).toBe(publication.id);
      said.push(`Scheduled on ${youtube.name} for ${when}.`);
      // How an agent follows the post afterwards: the workflow lists its publications.
      const followed = await ok(check, 'get_workflow', { id: wf.id });
      expect(followed.publications.map((p: any) => [p.id, p.status])).toContainEqual([publication.id, 'scheduled']);

      // Credits charged equal the estimate; nothing is left reserved.
      console.info(`[agent-flow] the prompt took ${calls} tool calls (seed 001's flow took 17 before)`);
      expect(calls).toBeLessThan(17);
      const ledger1 = await ok(check, 'get_ledger');
      expect(ledger1.reserved).toBe(0);
      expect(ledger0.available - ledger1.available).toBe(expectedCharge);
      expect(ledger0.balance - ledger1.balance).toBe(expectedCharge);
      console.info(`[agent-flow] ${said.join('\n[agent-flow] ')}`);
    } catch (err) {
      console.error(`[agent-flow] the agent had said:\n${said.join('\n')}\n--- server log tail ---\n${logs.slice(-30).join('')}`);
      throw err;
    } finally {
      await mcp.close();
      await served.running.close(2_000);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 900_000);
});
