// Finding 5 of issue 13: with PostgreSQL gone, /v1/_status still answered 200 (its body is the
// API's report and stays), nothing told a load balancer to stop sending traffic, and knex printed
// a stack trace for every failed poll (20 a second here). This stops and restarts a private
// PostgreSQL under a running `lavendly serve` and reads every line it wrote.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-expect-error plain ESM helper without types
import { startPostgres } from '../../scripts/pg.mjs';
import { startServeProcess, type CliProcess } from '../publish-http/processes.js';

interface Cluster { url: string; pause(): void; resume(): void; stop(): void }
const pg: Cluster | null = startPostgres();
let serve: (CliProcess & { origin: string }) | null = null;
let dataDir: string;

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-outage-'));
});
afterAll(async () => {
  await serve?.kill9();
  pg?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function get(url: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url);
  return { status: res.status, json: await res.json() };
}

async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!pg)('a running server whose PostgreSQL goes away and comes back', () => {
  it('answers /readyz 503 while it is gone, keeps /livez and /v1/_status, and logs each change once', async () => {
    serve = await startServeProcess({
      ...process.env, DATABASE_URL: pg!.url, LAVENDLY_DATA_DIR: dataDir, HOST: '127.0.0.1', LOG_LEVEL: 'info',
      LAVENDLY_WORKER_POLL_MS: '50', LAVENDLY_API_KEY: undefined,
    });
    const o = serve.origin;
    expect(await get(`${o}/readyz`)).toEqual({ status: 200, json: { status: 'ready', database: 'up', draining: false } });
    expect(await get(`${o}/livez`)).toEqual({ status: 200, json: { status: 'ok' } });

    pg!.pause();
    await until('/readyz 503', async () => {
      const r = await get(`${o}/readyz`);
      return r.status === 503 ? r : null;
    });
    expect(await get(`${o}/readyz`)).toEqual({ status: 503, json: { status: 'unavailable', database: 'down', draining: false } });
    expect(await get(`${o}/livez`)).toEqual({ status: 200, json: { status: 'ok' } });
    const status = await get(`${o}/v1/_status`);
    expect(status.status).toBe(200);
    expect(status.json.database).toEqual({ kind: 'postgres', ok: false });
    // The API answers what it cannot serve as the service being unavailable, not as its own fault.
    const key = /export LAVENDLY_API_KEY=(\S+)/.exec(serve.output())![1]!;
    const auth = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const turnedAway = [
      await fetch(`${o}/v1/workflows`, { headers: auth }),
      await fetch(`${o}/v1/workflows`, { method: 'POST', headers: { ...auth, 'Idempotency-Key': 'outage-1' }, body: JSON.stringify({ name: 'x', shots: [{ prompt: 'a fox', duration_s: 1 }] }) }),
    ];
    for (const res of turnedAway) {
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      const body = await res.json();
      expect(body.error).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/database is unavailable/), retry_after: 5 });
      expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|ECONN|select|insert/i);
    }
    await new Promise((r) => setTimeout(r, 2_000)); // ~40 worker polls and 2 health pings fail meanwhile

    pg!.resume();
    await until('/readyz 200', async () => ((await get(`${o}/readyz`)).status === 200 ? true : null));
    expect((await get(`${o}/v1/_status`)).json.database).toEqual({ kind: 'postgres', ok: true });
    await until('the worker to poll again', async () => (/worker poll works again/.test(serve!.output()) ? true : null));
    expect(await serve.stop()).toBe(0);

    const output = serve.output();
    const lines = output.split('\n').filter((l) => l.trim());
    // Three lines for people (the development key, on stderr); every other line is a JSON log line.
    const human = lines.filter((l) => !l.startsWith('{'));
    expect(human).toHaveLength(3);
    expect(human[0]).toMatch(/^Created development account/);
    const logs = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const count = (msg: RegExp) => logs.filter((l) => msg.test(l.msg)).length;
    expect(count(/^database unreachable$/)).toBe(1);
    expect(count(/^database reachable again$/)).toBe(1);
    expect(count(/^worker poll failed/)).toBe(1);
    expect(count(/^worker poll works again/)).toBe(1);
    expect(output).not.toMatch(/Acquire connection error|Connection Error|\n\s+at /);
    expect(count(/^internal error$/)).toBe(0);
    expect(count(/^database unavailable$/)).toBe(2);
    // The two requests turned away have their access lines, as warnings; nothing else does.
    expect(logs.filter((l) => l.msg === 'request' && l.level >= 40).map((l) => l.level)).toEqual([40, 40]);
    expect(logs.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual(['database unreachable']); // once, not per request
    const warnings = logs.filter((l) => l.level >= 40 && l.msg !== 'request').map((l) => l.msg);
    expect(warnings.length, warnings.join("\n")).toBeLessThanOrEqual(4);
  }, 90_000);
});
