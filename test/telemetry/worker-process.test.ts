/**
 * A `lavendly worker` process with LAVENDLY_METRICS_PORT serves its own /metrics (a worker has no
 * API port): the jobs it runs show in its job histogram; SIGTERM stops it and its listener.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { enqueue } from '../../src/jobs/index.js';
import { freshDb } from '../helpers/db.js';
import { parsePrometheus, sample } from './prometheus.js';

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('worker process metrics', () => {
  it('serves /metrics on LAVENDLY_METRICS_PORT with the jobs it ran', async () => {
    const fresh = await freshDb('sqlite');
    const port = await freePort();
    const env = { ...process.env, LAVENDLY_DATA_DIR: fresh.dataDir, DATABASE_URL: '', LAVENDLY_METRICS_PORT: String(port), LAVENDLY_WORKER_POLL_MS: '50', LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, ['bin/lavendly.mjs', 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      // A delivery job for a delivery that does not exist: the handler runs and finds nothing to do.
      await enqueue(fresh.db, { type: 'webhook.deliver', payload: { deliveryId: 'whd_none' } });
      const start = Date.now();
      let count: number | undefined;
      while (!count) {
        expect(Date.now() - start, stderr).toBeLessThan(30_000);
        await new Promise((r) => setTimeout(r, 100));
        const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null);
        if (res?.status !== 200) continue;
        count = sample(parsePrometheus(await res.text()), 'lavendly_job_duration_seconds_count', { type: 'webhook.deliver', outcome: 'ok' });
      }
      expect(count).toBe(1);
      expect((await fetch(`http://127.0.0.1:${port}/v1/workflows`)).status).toBe(404);
      child.kill('SIGTERM');
      expect(await exited, stderr).toBe(0);
      await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    } finally {
      child.kill('SIGKILL');
      await fresh.close();
    }
  });
});
