import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { generationJobHandlers, type GenerationService } from '../../src/generation/index.js';
import { Worker } from '../../src/jobs/index.js';
import { probeMedia, type MediaProbe } from '../../src/media/index.js';
import { call, type TestServer } from '../helpers/server.js';
import { generationFromEnv } from '../helpers/config.js';

/** Test-sized generation: 320x180 clips; extra env (failures, latency, prices) on top. */
export function testGeneration(env: Record<string, string> = {}): GenerationService {
  return generationFromEnv({ LAVENDLY_CLIP_SHORT_SIDE: '180', ...env });
}

/** Registers a generation configuration on the server (what its API prices and starts with). */
export function useGeneration(s: TestServer, env: Record<string, string> = {}): GenerationService {
  const g = testGeneration(env);
  s.services.generation = g;
  return g;
}

/** An in-process worker running the scene jobs with the given configuration's providers. */
export function startWorker(s: TestServer, g: GenerationService, opts: { concurrency?: number } = {}): Worker {
  const worker = new Worker({
    db: s.fresh.db,
    handlers: generationJobHandlers({ providers: g.providers, storage: s.services.storage }),
    concurrency: opts.concurrency ?? 2,
    pollMs: 20,
    leaseMs: 10_000,
    backoff: { baseMs: 50, maxMs: 200 },
  });
  worker.start();
  return worker;
}

export const FOX_SHOTS = [
  { prompt: 'A sleepy fox in a dusty bookshop finds an old map', duration_s: 1 },
  { prompt: 'The old map begins to glow with golden light', duration_s: 2 },
  { prompt: 'The fox steps through a door of light', duration_s: 1 },
];

export async function createFox(s: TestServer, key: string, shots: Record<string, unknown>[] = FOX_SHOTS, extra: Record<string, unknown> = {}): Promise<any> {
  const r = await call(`${s.base}/workflows`, { key, body: { name: 'Bookshop fox', shots, ...extra } });
  expect(r.status, r.text).toBe(201);
  return r.json;
}

export async function ledger(s: TestServer, key: string): Promise<{ balance: number; reserved: number; available: number; data: any[] }> {
  const r = await call(`${s.base}/ledger?limit=100`, { key });
  expect(r.status, r.text).toBe(200);
  return r.json;
}

/** Polls get_generation_status until the generation is succeeded or failed; returns the last status. */
export async function waitForGeneration(s: TestServer, key: string, workflowId: string, timeoutMs = 45_000): Promise<any> {
  const start = Date.now();
  for (;;) {
    const r = await call(`${s.base}/workflows/${workflowId}/generation-status`, { key });
    expect(r.status, r.text).toBe(200);
    if (r.json.status === 'succeeded' || r.json.status === 'failed') return r.json;
    if (Date.now() - start > timeoutMs) throw new Error(`generation did not finish: ${r.text}`);
    await new Promise((res) => setTimeout(res, 40));
  }
}

/** A signed URL pointed at the test listener (the server's public base URL names the default port). */
export function local(s: TestServer, url: string): string {
  const u = new URL(url);
  return `${s.origin}${u.pathname}${u.search}`;
}

/** Downloads a signed URL (through the real listener) and probes the file. */
export async function probeUrl(s: TestServer, url: string): Promise<MediaProbe & { bytes: number; contentType: string | null }> {
  const res = await fetch(local(s, url));
  expect(res.status, url).toBe(200);
  const buf = Buffer.from(await res.arrayBuffer());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-probe-'));
  const file = path.join(dir, path.basename(new URL(url).pathname));
  fs.writeFileSync(file, buf);
  try {
    return { ...(await probeMedia(file)), bytes: buf.length, contentType: res.headers.get('content-type') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function generate(s: TestServer, key: string, workflowId: string, body?: unknown, headers: Record<string, string> = {}) {
  return call(`${s.base}/workflows/${workflowId}/generate`, { method: 'POST', key, body, headers });
}
