/**
 * `wait_s` on get_generation_status and get_render: one call waits (server side, at most 30 s)
 * until the status moves instead of answering the same thing at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/jobs/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createWorkflow, smallClips, startWorker, useSmallClips } from '../renders/helpers.js';
import { callTool, connect, ok } from './helpers.js';

let server: TestServer;
let worker: Worker | undefined;
beforeAll(async () => {
  server = await startTestServer('sqlite');
  useSmallClips(server);
});
afterAll(async () => {
  await worker?.stop();
  await server?.close();
});

describe('long-poll over MCP', () => {
  it('a get with wait_s answers when the status has moved on, not with the same status', async () => {
    worker = startWorker(server, smallClips({ LAVENDLY_PROVIDER_LATENCY_MS: '300' }).providers);
    const acc = await server.account({ credits: 100 });
    const wf = await createWorkflow(server, acc.key, [1, 1]);
    const c = await connect('http', server, acc.key);
    try {
      const gen = await ok(c.client, 'generate_scene', { id: wf.id, confirm: true });
      expect(gen.id).toMatch(/^gen_/);
      // Each waiting call returns a state different from what the previous call saw (or the end):
      // the overall status, its progress or a scene's status, as the server compares them.
      const state = (st: any) => JSON.stringify([st.status, st.progress, st.scenes.map((s: any) => s.status)]);
      let seen = state(await ok(c.client, 'get_generation_status', { id: wf.id }));
      let calls = 0;
      for (;;) {
        const st = await ok(c.client, 'get_generation_status', { id: wf.id, wait_s: 30 });
        calls++;
        const now = state(st);
        if (st.status === 'succeeded' || st.status === 'failed') break;
        expect(now !== seen || calls === 1, `unchanged after a waiting call: ${now}`).toBe(true);
        seen = now;
        expect(calls).toBeLessThan(20);
      }
      const render = await ok(c.client, 'create_render', { id: wf.id });
      const done = await ok(c.client, 'get_render', { id: wf.id, job_id: render.id, wait_s: 30 });
      expect(done.status !== render.status || done.progress !== render.progress).toBe(true);
      const bad = await callTool(c.client, 'get_render', { id: wf.id, job_id: render.id, wait_s: 31 });
      expect(bad.error.arguments).toEqual(['wait_s']);
      console.info(`[long-poll] generation followed in ${calls} waiting call(s)`);
    } finally {
      await c.close();
    }
  });
});
