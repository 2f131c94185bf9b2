/**
 * Progress notifications: a tool call that carries a progressToken hears from the server when it
 * starts and each second while it waits (a `wait_s` long-poll); over stdio and Streamable HTTP
 * through the official client's `onprogress`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import type { Worker } from '../../src/jobs/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createWorkflow, smallClips, startWorker, useSmallClips } from '../renders/helpers.js';
import { connect, ok, type TransportKind } from './helpers.js';

let server: TestServer;
let worker: Worker | undefined;
beforeAll(async () => {
  server = await startTestServer('sqlite');
  useSmallClips(server);
  worker = startWorker(server, smallClips({ LAVENDLY_PROVIDER_LATENCY_MS: '1500' }).providers);
});
afterAll(async () => {
  await worker?.stop();
  await server?.close();
});

describe.each<TransportKind>(['http', 'stdio'])('progress over %s', (kind) => {
  it('get_generation_status with wait_s sends increasing progress up to its answer', async () => {
    const acc = await server.account({ credits: 100 });
    const wf = await createWorkflow(server, acc.key, [1, 1]);
    const c = await connect(kind, server, acc.key);
    try {
      await ok(c.client, 'generate_scene', { id: wf.id, confirm: true });
      let waits = 0;
      let heard = 0;
      for (;;) {
        const seen: Progress[] = [];
        const result = await c.client.callTool(
          { name: 'get_generation_status', arguments: { id: wf.id, wait_s: 30 } },
          undefined,
          { timeout: 120_000, onprogress: (p) => seen.push(p) },
        );
        waits++;
        // The start, then one a second while waiting. The client handles a notification a
        // microtask late, so one that reaches it in the same read as the result is dropped (a
        // call that answers at once may show none): the count is summed over the calls.
        heard += seen.length;
        if (seen.length) expect(seen[0]!.message).toMatch(/^get_generation_status: waiting up to 30 s/);
        for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThan(seen[i - 1]!.progress);
        for (const p of seen) expect(p.total).toBeGreaterThanOrEqual(30);
        for (const p of seen.slice(1)) expect(p.message).toMatch(/^get_generation_status: waiting up to 30 s for the status to change \(\d+ s so far\)$/);
        const body = result.structuredContent as { status: string };
        if (body.status === 'succeeded' || body.status === 'failed') break;
        expect(waits).toBeLessThan(20);
      }
      console.info(`[progress ${kind}] ${waits} waiting call(s), ${heard} progress notification(s)`);
      expect(heard).toBeGreaterThanOrEqual(1);
    } finally {
      await c.close();
    }
  });
});

describe('/mcp answers a progress-token call as an event stream', () => {
  it('streams notifications/progress then the result; a call without a token stays plain JSON', async () => {
    const acc = await server.account({ credits: 10 });
    const post = (meta: Record<string, unknown> | undefined) => fetch(`${server.origin}/mcp`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${acc.key}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'get_status', arguments: {}, ...(meta ? { _meta: meta } : {}) } }),
    });
    const plain = await post(undefined);
    expect(plain.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await plain.json()).result.structuredContent.version).toEqual(expect.any(String));

    const streamed = await post({ progressToken: 'tok-1' });
    expect(streamed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await streamed.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    const progress = events.filter((e) => e.method === 'notifications/progress');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0].params.message).toBe('get_status: started');
    for (const p of progress) expect(p.params.progressToken).toBe('tok-1');
    expect(events.at(-1)).toMatchObject({ id: 7, result: { structuredContent: { version: expect.any(String) } } });

    const bad = await fetch(`${server.origin}/mcp`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${acc.key}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: '{"jsonrpc":',
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe(-32700);
  });
});
