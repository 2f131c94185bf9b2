// Shared setup for the publishing and webhook HTTP tests: a workflow with a finished render (a real
// small MP4 made by ffmpeg, its row written straight into `renders` the way the renders module
// records a succeeded one), polling with a deadline, and a check that no secret reached a log.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { nowIso, type Db } from '../../src/db/knex.js';
import { runFfmpeg } from '../../src/media/index.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy, or fails naming `what` after `timeoutMs`. */
export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(40);
  }
}

let sample: Promise<string> | null = null;

/** A one-second 160x90 H.264 + AAC MP4, made once per test process. */
export function sampleMp4(): Promise<string> {
  sample ??= (async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-mp4-')), 'sample.mp4');
    await runFfmpeg([
      '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=10:duration=1',
      '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1',
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-movflags', '+faststart', file,
    ], { timeoutMs: 60_000 });
    return file;
  })();
  return sample;
}

/**
 * Records a succeeded render of `workflowId` whose output is a real MP4 under the data dir's
 * file storage (`<dataDir>/files/<key>`), as create_render leaves one.
 */
export async function insertFinishedRender(db: Db, dataDir: string, accountId: string, workflowId: string): Promise<{ id: string; path: string }> {
  const id = `rnd_${crypto.randomBytes(6).toString('hex')}`;
  const key = `${accountId}/renders/${id}.mp4`;
  const file = path.join(dataDir, 'files', ...key.split('/'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.copyFileSync(await sampleMp4(), file);
  const wf = await db('workflows').where({ id: workflowId }).first('version');
  const now = nowIso();
  await db('renders').insert({
    id, account_id: accountId, workflow_id: workflowId, workflow_version: Number(wf?.version ?? 1), status: 'succeeded',
    progress: 1, label: null, generation_id: null, job_id: null,
    plan: JSON.stringify({ duration_s: 1, clips: [], tracks: [] }), width: 160, height: 90, scene_count: 1, scenes_reused: 1,
    output_key: key, duration_s: 1, error: null, created_at: now, updated_at: now, started_at: now, finished_at: now,
  });
  return { id, path: file };
}

/** A workflow body with one short shot. */
export const oneShot = { name: 'Bookshop fox', shots: [{ prompt: 'a sleepy fox finds an old map', duration_s: 2 }] };

/** Fails if any of `secrets` appears in any of `texts` (responses, log lines), naming where. */
export function expectNoSecrets(texts: { where: string; text: string }[], secrets: string[]): void {
  const leaks: string[] = [];
  for (const s of secrets.filter((x) => x && x.length >= 8)) {
    for (const t of texts) if (t.text.includes(s)) leaks.push(`${s.slice(0, 6)}... in ${t.where}`);
  }
  expect(leaks).toEqual([]);
}
