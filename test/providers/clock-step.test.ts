// A remote task (a Runway or OpenAI clip) is polled until its deadline. The deadline was a
// wall-clock time: a machine clock stepping an hour ahead mid-task (an NTP correction) failed
// the task at once with provider_timeout, and one stepping back kept a stuck task polled an hour
// too long. Deadlines a process keeps for itself now run on the monotonic clock.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderClient } from '../../src/providers/http.js';
import { runRemoteTask } from '../../src/providers/task.js';
import { restoreWallClock, stepWallClock } from '../helpers/wall-clock.js';


describe('a remote task whose machine clock steps an hour ahead while it is polled', () => {
  let server: http.Server;
  let base: string;
  let polls = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST') return res.end(JSON.stringify({ id: 'task_1' }));
      polls++;
      // The first look: still running, and meanwhile this machine's clock jumps an hour ahead.
      if (polls === 1) stepWallClock(3_600_000);
      res.end(JSON.stringify(polls === 1 ? { status: 'RUNNING' } : { status: 'SUCCEEDED', output: 'done' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    restoreWallClock();
    await new Promise((r) => server.close(r));
  });

  it('keeps polling to the result within its 60 s deadline', async () => {
    const client = new ProviderClient({ provider: 'fake:model', headers: {}, secrets: [], retries: 0 });
    const { result } = await runRemoteTask({
      client, memory: {}, pollMs: 10, deadlineS: 60, what: 'the clip',
      submit: async (deadlineAt) => (await client.json<{ id: string }>(`${base}/tasks`, { method: 'POST', body: {}, deadlineAt })).id,
      check: async (id, deadlineAt) => {
        const t = await client.json<{ status: string; output?: string }>(`${base}/tasks/${id}`, { deadlineAt });
        return t.status === 'SUCCEEDED' ? t.output! : null;
      },
    });
    expect(result).toBe('done');
    expect(polls).toBe(2);
  });
});
