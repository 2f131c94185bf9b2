/**
 * Media bench (prints figures; not a test).
 *
 *   npx tsx bench/media.ts [--runs 3] [--clip-size 640x360] [--keep]
 *
 * 1. The local clip provider's time per clip against the bare ffmpeg command it runs.
 * 2. A render of 10 five-second scenes via renderTimeline against a bare
 *    `ffmpeg -f concat -c copy` of the same clips, with and without audio mixing. The clips carry
 *    the probe made when they were generated, as renders of generated clips do (clip_probes).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import {
  concatList,
  ffmpegPath,
  LocalImageProvider,
  LocalVideoProvider,
  localClipArgs,
  probeClip,
  probeMedia,
  renderTimeline,
  runFfmpeg,
  type RenderTimelineRequest,
  type TimelineClip,
} from '../src/media/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const RUNS = Number(arg('runs', '3'));
const [W, H] = arg('clip-size', '640x360').split('x').map(Number) as [number, number];
const KEEP = process.argv.includes('--keep');
const SCENES = 10;
const SCENE_S = 5;

/**
 * CPU seconds used by waited-for child processes (ffmpeg, ffprobe): /proc/self/stat cutime +
 * cstime. Unlike wall time it does not grow when other work competes for the cores.
 */
function childCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command name start at field 3; cutime and cstime are fields 16 and 17.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

async function timed(fn: () => Promise<unknown>): Promise<Sample> {
  const cpu0 = childCpuMs();
  const started = performance.now();
  await fn();
  return { wallMs: performance.now() - started, cpuMs: childCpuMs() - cpu0 };
}

/** The bare command, spawned directly (the same flags runFfmpeg prepends, nothing else). */
function bare(args: string[]): Promise<Sample> {
  return timed(
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(ffmpegPath(), ['-hide_banner', '-nostdin', '-y', ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
      }),
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const ms = (x: number) => `${x.toFixed(0).padStart(6)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`.padStart(7);
const wall = (xs: Sample[]) => median(xs.map((x) => x.wallMs));
const cpu = (xs: Sample[]) => median(xs.map((x) => x.cpuMs));
function row(label: string, xs: Sample[], base: Sample[], extra = ''): string {
  return `   ${label.padEnd(37)} wall ${ms(wall(xs))} (${ratio(wall(xs), wall(base))})   cpu ${ms(cpu(xs))} (${ratio(cpu(xs), cpu(base))})${extra}`;
}

async function main() {
  const dir = await mkdtemp(path.join(tmpdir(), 'lavendly-bench-media-'));
  const file = (n: string) => path.join(dir, n);
  try {
    console.log(`media bench: ${cpus().length} cpus, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, runs=${RUNS}, clips ${W}x${H} @ 25 fps`);
    const images = new LocalImageProvider();
    const videos = new LocalVideoProvider();

    // 1. Clip provider vs the bare ffmpeg command it runs (interleaved, medians).
    const still = await images.generateImage({ prompt: 'bench scene', width: W, height: H, outPath: file('still.png') });
    console.log(`\n1. local clip provider vs bare ffmpeg (${SCENE_S} s clip, ${W}x${H}, median of ${RUNS})`);
    const providerMs: Sample[] = [];
    const bareMs: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      const req = { imagePath: still.path, prompt: 'bench scene', durationS: SCENE_S, width: W, height: H };
      bareMs.push(await bare(localClipArgs(req, file(`bare-${i}.mp4`)).args));
      providerMs.push(await timed(() => videos.generateClip({ ...req, outPath: file(`provider-${i}.mp4`) })));
    }
    console.log(row('bare ffmpeg', bareMs, bareMs));
    console.log(row('LocalVideoProvider.generateClip', providerMs, bareMs, `   ${(SCENE_S / (wall(providerMs) / 1000)).toFixed(1)}x realtime`));

    // 2. Render of 10 five-second scenes.
    console.log(`\n2. render of ${SCENES} x ${SCENE_S} s scenes vs bare 'ffmpeg -f concat -c copy' (median of ${RUNS})`);
    const clips: TimelineClip[] = [];
    for (let i = 0; i < SCENES; i++) {
      const prompt = `scene ${i + 1} of the bench`;
      const img = await images.generateImage({ prompt, width: W, height: H, outPath: file(`s${i}.png`) });
      const clip = await videos.generateClip({ imagePath: img.path, prompt, durationS: SCENE_S, width: W, height: H, outPath: file(`c${i}.mp4`) });
      // Probed once when generated, as the generation job does (stored in clip_probes).
      clips.push({ path: clip.path, durationS: SCENE_S, probe: await probeClip(clip.path) });
    }
    await runFfmpeg([
      '-loglevel', 'error', '-f', 'lavfi',
      '-i', `aevalsrc='0.3*sin(2*PI*523*t)+0.2*sin(2*PI*659*t)':s=48000:d=${SCENES * SCENE_S + 5}`,
      '-c:a', 'aac', '-b:a', '128k', file('music.m4a'),
    ]);
    const list = file('bare.txt');
    await writeFile(list, concatList(clips.map((c) => c.path)), 'utf8');

    const mixed = {
      clips: clips.map((c, i) => ({ ...c, nativeAudio: { enabled: i !== 3, volumeDb: -3 } })),
      tracks: [{ path: file('music.m4a'), volumeDb: -12, offsetS: 1, fadeInS: 1, fadeOutS: 2 }],
    };
    const cases: { label: string; req: Omit<RenderTimelineRequest, 'outPath'> }[] = [
      { label: 'renderTimeline, no mixing (auto)', req: { clips, width: W, height: H } },
      { label: 'renderTimeline, mixing (auto)', req: { ...mixed, width: W, height: H } },
      { label: '  same, clips probed at render time', req: { ...mixed, clips: mixed.clips.map(({ probe: _, ...c }) => c), width: W, height: H } },
      { label: 'renderTimeline, no mixing (reencode)', req: { clips, width: W, height: H, strategy: 'reencode' } },
      { label: 'renderTimeline, mixing (reencode)', req: { ...mixed, width: W, height: H, strategy: 'reencode' } },
    ];
    const bareRender: Sample[] = [];
    const caseMs = cases.map(() => [] as Sample[]);
    const strategies = cases.map(() => '');
    for (let r = 0; r < RUNS; r++) {
      bareRender.push(await bare(['-loglevel', 'error', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', file(`bare-render-${r}.mp4`)]));
      for (const [i, c] of cases.entries()) {
        const out = file(`render-${i}-${r}.mp4`);
        let strategy = '';
        caseMs[i]!.push(await timed(async () => ({ strategy } = await renderTimeline({ ...c.req, outPath: out }))));
        strategies[i] = strategy;
      }
    }
    const bareProbe = await probeMedia(file('bare-render-0.mp4'));
    console.log(row('bare concat -c copy', bareRender, bareRender, `   duration ${bareProbe.durationS.toFixed(3)} s`));
    for (const [i, c] of cases.entries()) {
      const probe = await probeMedia(file(`render-${i}-0.mp4`));
      console.log(row(c.label, caseMs[i]!, bareRender, `   ${strategies[i]}, duration ${probe.durationS.toFixed(3)} s`));
    }
    console.log(`\n   expected duration ${(SCENES * SCENE_S).toFixed(3)} s; files in ${KEEP ? dir : '(removed)'}`);
  } finally {
    if (!KEEP) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
