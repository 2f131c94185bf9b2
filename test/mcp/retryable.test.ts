/**
 * A failed scene says whether trying it again unchanged may help (`retryable`), in the API's
 * answers and in the MCP tools' structured results.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/jobs/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createWorkflow, smallClips, startWorker, useSmallClips } from '../renders/helpers.js';
import { connect, ok } from './helpers.js';

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

describe('scene failures', () => {
  it('carry retryable in get_generation_status and get_workflow, over HTTP and MCP', async () => {
    worker = startWorker(server, smallClips({ LAVENDLY_FAIL_SCENES: '2' }).providers);
    const acc = await server.account({ credits: 100 });
    const wf = await createWorkflow(server, acc.key, [1, 1]);
    const c = await connect('http', server, acc.key);
    try {
      await ok(c.client, 'generate_scene', { id: wf.id, confirm: true });
      let st: any;
      for (let calls = 0; ; calls++) {
        st = await ok(c.client, 'get_generation_status', { id: wf.id, wait_s: 30 });
        if (st.status === 'succeeded' || st.status === 'failed') break;
        expect(calls).toBeLessThan(40);
      }
      expect(st.status).toBe('failed');
      expect(st.scenes.map((s: any) => s.status)).toEqual(['generated', 'failed']);
      expect(st.scenes[0].error).toBeNull();
      // The configured failure is a permanent provider refusal: the same request fails again.
      expect(st.scenes[1].error).toMatchObject({ code: 'provider_rejected', retryable: false });
      expect(st.phase).toMatch(/not retryable/);

      const viaMcp = await ok(c.client, 'get_workflow', { id: wf.id });
      expect(viaMcp.scenes[1].error).toMatchObject({ code: 'provider_rejected', retryable: false });

      const res = await fetch(`${server.base}/workflows/${wf.id}`, { headers: { Authorization: `Bearer ${acc.key}` } });
      const body = await res.json();
      expect(res.status).toBe(200);
      expect(typeof body.scenes[1].error.retryable).toBe('boolean');
      expect(body.scenes[1].error.retryable).toBe(false);
    } finally {
      await c.close();
    }
  });
});

describe('scene errors recorded before retryable existed', () => {
  it('read as retryable unless they were content refusals', async () => {
    const { parseSceneError } = await import('../../src/generation/index.js');
    expect(parseSceneError(JSON.stringify({ code: 'provider_timeout', message: 'slow' }))).toEqual({ code: 'provider_timeout', message: 'slow', retryable: true });
    expect(parseSceneError(JSON.stringify({ code: 'content_policy', message: 'no' }))).toEqual({ code: 'content_policy', message: 'no', retryable: false });
    expect(parseSceneError(JSON.stringify({ code: 'provider_timeout', message: 'x', retryable: false }))?.retryable).toBe(false);
    expect(parseSceneError('not json')).toEqual({ code: 'failed', message: 'not json', retryable: true });
    expect(parseSceneError(null)).toBeNull();
  });
});
