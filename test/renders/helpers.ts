/**
 * Shared by the renders, audio, review and assets-http suites: a real server with small clips
 * (320x180), uploads through the real HTTP round trip, and clips planted on purpose.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { generationJobHandlers, type GenerationService } from '../../src/generation/index.js';
import { Worker } from '../../src/jobs/index.js';
import { assertInvariants } from '../../src/ledger/index.js';
import type { MediaProviders } from '../../src/media/index.js';
import { renderJobHandlers } from '../../src/renders/index.js';
import { call, type TestServer } from '../helpers/server.js';
import type { FileStorage } from '../../src/storage/index.js';
import { generationFromEnv } from '../helpers/config.js';

export const WIDTH = 320;
export const HEIGHT = 180;

/** Generation and review at 320x180 (the short side of 16:9 clips is 180). */
export function useSmallClips(s: TestServer, env: Record<string, string> = {}): GenerationService {
  const g = smallClips(env);
  s.services.generation = g;
  return g;
}

export function smallClips(env: Record<string, string> = {}): GenerationService {
  return generationFromEnv({ LAVENDLY_CLIP_SHORT_SIDE: String(HEIGHT), ...env });
}

/** Signed URLs name the public base URL; the test server listens elsewhere. */
export function local(s: TestServer, url: string): string {
  const u = new URL(url);
  return `${s.origin}${u.pathname}${u.search}`;
}

export async function createWorkflow(s: TestServer, key: string, durations: number[], name = 'Test video'): Promise<{ id: string; scenes: { node_id: string; duration_s: number }[] }> {
  const r = await call(`${s.base}/workflows`, {
    key,
    body: { name, shots: durations.map((d, i) => ({ prompt: `Shot ${i + 1}: a lantern-lit street, moment ${i + 1}.`, duration_s: d })) },
  });
  expect(r.status, r.text).toBe(201);
  return r.json;
}

/** Uploads a local file through create_upload + put_upload (no API key on the PUT). */
export async function upload(s: TestServer, key: string, file: string, kind: 'image' | 'video' | 'music'): Promise<any> {
  const bytes = fs.readFileSync(file);
  const slot = await call(`${s.base}/uploads`, { key, body: { kind, filename: path.basename(file), bytes: bytes.length } });
  expect(slot.status, slot.text).toBe(201);
  const put = await call(local(s, slot.json.upload_url), {
    method: 'PUT', rawBody: bytes, headers: { 'content-type': 'application/octet-stream' },
  });
  expect(put.status, put.text).toBe(201);
  return put.json;
}

/** Makes `file` the clip of a scene, as if generation had delivered it (review fixtures). */
export async function plantClip(s: TestServer, accountId: string, workflowId: string, nodeId: string, file: string): Promise<string> {
  const key = s.services.storage.keyFor(accountId, `planted/${workflowId}-${nodeId}-${Date.now()}.mp4`);
  const dest = (s.services.storage as FileStorage).pathFor(key);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(file, dest);
  await s.fresh.db('workflow_scenes').where({ workflow_id: workflowId, node_id: nodeId }).update({ status: 'generated', clip_key: key });
  return key;
}

export async function invariants(s: TestServer): Promise<void> {
  await assertInvariants(s.fresh.db);
}

/** An in-process worker running scene jobs (with `providers`, swappable between tests) and render jobs. */
export function startWorker(s: TestServer, providers: MediaProviders, opts: { leaseMs?: number; concurrency?: number } = {}): Worker {
  const storage = s.services.storage;
  const worker = new Worker({
    db: s.fresh.db,
    handlers: { ...generationJobHandlers({ providers, storage }), ...renderJobHandlers({ storage, pollMs: 50, preset: 'ultrafast' }) },
    concurrency: opts.concurrency ?? 2,
    pollMs: 20,
    leaseMs: opts.leaseMs ?? 10_000,
    backoff: { baseMs: 50, maxMs: 200 },
  });
  worker.start();
  return worker;
}

/** create_render; allowed to generate missing scenes (max_credits) unless the body says otherwise. */
export async function startRender(s: TestServer, key: string, workflowId: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return call(`${s.base}/workflows/${workflowId}/renders`, { key, body: { max_credits: 1_000_000, ...body }, headers });
}

/** Polls get_render until the render is succeeded, failed or canceled. */
export async function waitForRender(s: TestServer, key: string, workflowId: string, renderId: string, timeoutMs = 60_000): Promise<any> {
  const start = Date.now();
  for (;;) {
    const r = await call(`${s.base}/workflows/${workflowId}/renders/${renderId}`, { key });
    expect(r.status, r.text).toBe(200);
    if (['succeeded', 'failed', 'canceled'].includes(r.json.status)) return r.json;
    if (Date.now() - start > timeoutMs) throw new Error(`render did not finish: ${r.text}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

export async function ledgerOf(s: TestServer, key: string): Promise<{ balance: number; reserved: number; available: number; data: any[] }> {
  const r = await call(`${s.base}/ledger?limit=100`, { key });
  expect(r.status, r.text).toBe(200);
  return r.json;
}

/** Downloads a signed URL through the real listener into `dir`; returns the file's path. */
export async function download(s: TestServer, url: string, dir: string, name: string): Promise<string> {
  const res = await fetch(local(s, url));
  expect(res.status, url).toBe(200);
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}
