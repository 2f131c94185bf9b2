/**
 * Storage bench (prints figures; not a test).
 *
 *   npx tsx bench/storage-render.ts [--runs 5] [--scenes 6] [--scene-s 3] [--clip-size 640x360]
 *
 * The render job's storage path (src/renders/stored.ts: fetch the clips to local files, stitch,
 * store the MP4) on the same clips with the local driver and with the S3 driver against s3rver on
 * 127.0.0.1, interleaved, medians. The S3 figure also splits out the transfer: fetching the inputs
 * and uploading the output (s3rver runs in this process, so it shares its CPU).
 */
import fs from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { LocalImageProvider, LocalVideoProvider } from '../src/media/index.js';
import { renderStored, type RenderPlan } from '../src/renders/index.js';
import { createStorage, type LocalFile, type Storage } from '../src/storage/index.js';
import { startS3 } from '../test/helpers/s3.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const RUNS = Number(arg('runs', '5'));
const SCENES = Number(arg('scenes', '6'));
const SCENE_S = Number(arg('scene-s', '3'));
const [W, H] = arg('clip-size', '640x360').split('x').map(Number) as [number, number];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const ms = (x: number) => `${x.toFixed(0).padStart(6)} ms`;

/** Puts a copy of `file` under `key` the way stored files arrive (staged, then moved in). */
async function put(storage: Storage, file: string, key: string): Promise<void> {
  const staged = storage.stagingPath();
  fs.mkdirSync(path.dirname(staged), { recursive: true });
  fs.copyFileSync(file, staged);
  await storage.moveIn(staged, key);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'lavendly-bench-storage-'));
  const s3 = await startS3({ bucket: 'bench' });
  try {
    console.log(`storage render bench: ${cpus().length} cpus, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, runs=${RUNS}, ${SCENES} x ${SCENE_S} s clips ${W}x${H}`);
    const images = new LocalImageProvider();
    const videos = new LocalVideoProvider();
    const clipFiles: string[] = [];
    for (let i = 0; i < SCENES; i++) {
      const prompt = `scene ${i + 1} of the storage bench`;
      const img = await images.generateImage({ prompt, width: W, height: H, outPath: path.join(dir, `s${i}.png`) });
      const clip = await videos.generateClip({ imagePath: img.path, prompt, durationS: SCENE_S, width: W, height: H, outPath: path.join(dir, `c${i}.mp4`) });
      clipFiles.push(clip.path);
    }
    const bytesIn = clipFiles.reduce((sum, f) => sum + fs.statSync(f).size, 0);
    const secret = Buffer.from('bench-signing-secret-0123456789');
    const drivers = {
      local: createStorage({ dataDir: path.join(dir, 'local'), publicBaseUrl: 'http://localhost:8090', secret }),
      s3: createStorage({ dataDir: path.join(dir, 's3'), publicBaseUrl: 'http://localhost:8090', secret, storage: s3.storage }),
    };
    const clipKeys = clipFiles.map((_, i) => `acc_bench/wf_bench/scene-${i}.mp4`);
    for (const storage of Object.values(drivers)) {
      for (let i = 0; i < SCENES; i++) await put(storage, clipFiles[i]!, clipKeys[i]!);
    }
    const plan: RenderPlan = {
      duration_s: SCENES * SCENE_S,
      clips: clipKeys.map((key, i) => ({ node_id: `n${i}`, index: i, duration_s: SCENE_S, clip_key: key, native: { enabled: true, volume_db: 0 } })),
      tracks: [],
    };

    const times: Record<'local' | 's3', number[]> = { local: [], s3: [] };
    const transfer = { fetch: [] as number[], upload: [] as number[] };
    let bytesOut = 0;
    for (let run = 0; run < RUNS; run++) {
      for (const name of ['local', 's3'] as const) {
        const storage = drivers[name];
        const outputKey = `acc_bench/renders/run-${run}.mp4`;
        const started = performance.now();
        await renderStored(storage, { plan, clipKeys, outputKey, width: W, height: H });
        times[name].push(performance.now() - started);
        bytesOut = (await storage.stat(outputKey))!.size;
      }
      // The transfer alone on S3: the same inputs fetched one by one, the same output uploaded.
      const t0 = performance.now();
      const copies: LocalFile[] = [];
      for (const key of clipKeys) copies.push(await drivers.s3.localCopy(key));
      transfer.fetch.push(performance.now() - t0);
      await Promise.all(copies.map((c) => c.release()));
      const out = await drivers.s3.localCopy(`acc_bench/renders/run-${run}.mp4`);
      const staged = drivers.s3.stagingPath();
      fs.copyFileSync(out.path, staged);
      await out.release();
      const t1 = performance.now();
      await drivers.s3.moveIn(staged, `acc_bench/renders/again-${run}.mp4`);
      transfer.upload.push(performance.now() - t1);
    }
    const local = median(times.local);
    const remote = median(times.s3);
    console.log(`\nrender of ${SCENES} x ${SCENE_S} s (${(bytesIn / 1e6).toFixed(1)} MB of clips in, ${(bytesOut / 1e6).toFixed(1)} MB out), median of ${RUNS}:`);
    console.log(`   local driver                      ${ms(local)}`);
    console.log(`   S3 driver (s3rver, 127.0.0.1)     ${ms(remote)}   ${(remote / local).toFixed(2)}x the local driver`);
    console.log(`     of which: fetch inputs ~${ms(median(transfer.fetch))}, upload output ~${ms(median(transfer.upload))} (measured separately)`);
  } finally {
    await s3.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
