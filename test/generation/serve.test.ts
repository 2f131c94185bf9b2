/**
 * `lavendly serve` runs the API and a job worker: a generation started over HTTP completes with no
 * other process, and get_status reports the wired providers. `serve` reads generation settings
 * and worker tuning from the environment, as in production.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startServe } from '../../src/cli/commands/serve.js';
import { main } from '../../src/cli/main.js';
import { createLogger } from '../../src/http/logging.js';
import { assertInvariants } from '../../src/ledger/index.js';
import { freshDb, testDatabases } from '../helpers/db.js';
import { call } from '../helpers/server.js';

process.env.LAVENDLY_CLIP_SHORT_SIDE = '180';
process.env.LAVENDLY_WORKER_POLL_MS = '50';

const silent = () => createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

describe.each(testDatabases())('serve with its worker on %s', (kind) => {
  it('generates a workflow end to end and reports its providers', async () => {
    const fresh = await freshDb(kind);
    const env = { ...process.env, LAVENDLY_DATA_DIR: fresh.dataDir, DATABASE_URL: fresh.databaseUrl ?? '' };
    const served = await startServe({ env, out: () => {}, err: () => {} }, { port: 0, logger: silent() });
    try {
      const base = `${served.running.origin}/v1`;
      const key = served.devKey!;
      const status = await call(`${base}/_status`);
      expect(status.json.providers).toMatchObject({ text_to_image: 'local', image_to_video: 'local', vision_review: 'local' });

      const wf = await call(`${base}/workflows`, { key, body: { name: 'Served', shots: [{ prompt: 'A lantern lights up', duration_s: 1 }, { prompt: 'It fades', duration_s: 1 }] } });
      expect(wf.status, wf.text).toBe(201);
      const est = await call(`${base}/workflows/${wf.json.id}/cost-estimate`, { key });
      const gen = await call(`${base}/workflows/${wf.json.id}/generate`, { key, body: {} });
      expect(gen.status, gen.text).toBe(202);
      let st: any;
      const start = Date.now();
      do {
        await new Promise((r) => setTimeout(r, 50));
        st = (await call(`${base}/workflows/${wf.json.id}/generation-status`, { key })).json;
        expect(Date.now() - start, JSON.stringify(st)).toBeLessThan(45_000);
      } while (st.status !== 'succeeded' && st.status !== 'failed');
      expect(st.status, JSON.stringify(st)).toBe('succeeded');
      const led = await call(`${base}/ledger`, { key });
      expect(led.json).toMatchObject({ balance: 1000 - est.json.total, reserved: 0 });
      await assertInvariants(served.ctx.db);
    } finally {
      await served.running.close();
      await fresh.close();
    }
  });
});

describe('worker command', () => {
  it('is in the command table with its options', async () => {
    const out: string[] = [];
    expect(await main(['worker', '--help'], { env: {}, out: (l) => out.push(l), err: () => {} })).toBe(0);
    expect(out.join('\n')).toMatch(/lavendly worker \[--concurrency N\]/);
    const err: string[] = [];
    expect(await main(['worker', '--bogus'], { env: {}, out: () => {}, err: (l) => err.push(l) })).toBe(2);
  });
});
