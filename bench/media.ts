/**
 * Media bench (prints figures; not a test).
 *
 *   npx tsx bench/media.ts [--runs 3] [--clip-size 640x360] [--keep] [--before /path/to/checkout]
 *
 * 1. The local clip provider's time per clip against the bare ffmpeg command it runs.
 * 2. A render of 10 five-second scenes via renderTimeline against a bare
 *    `ffmpeg -f concat -c copy` of the same clips, with and without audio mixing. The clips carry
 *    the probe made when they were generated, as renders of generated clips do (clip_probes).
 *    A third case puts a voice-over under 2 of the 10 scenes (natives unchanged): only those
 *    scenes' audio is mixed and encoded. Then the mixing render's floor: ffmpeg's AAC encoder
 *    alone on the same 50 s of audio.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import {
  aacEncoderArgs,
  concatList,
  ffmpegCapabilities,
  ffmpegPath,
  ffprobePath,
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
import { useBinaries } from '../src/media/binaries.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const RUNS = Number(arg('runs', '3'));
const [W, H] = arg('clip-size', '640x360').split('x').map(Number) as [number, number];
const KEEP = process.argv.includes('--keep');
/** Another checkout (e.g. of main): its renderTimeline runs the auto cases too, interleaved, same run. */
const BEFORE = arg('before', '');
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

/**
 * Runs each case with ffmpeg and ffprobe behind a bash wrapper that logs the CPU of each
 * invocation (bash's `times`: getrusage of its child, to the millisecond, where /proc's figures
 * above count 10 ms ticks), and prints them per invocation. The best of RUNS rounds is shown.
 */
async function breakdown(dir: string, cases: { label: string; run: () => Promise<unknown> }[]): Promise<void> {
  const log = path.join(dir, 'invocations.log');
  const wrapper = async (tool: string, real: string) => {
    const script = path.join(dir, `${tool}-timed.sh`);
    await writeFile(script, [
      '#!/bin/bash',
      `${JSON.stringify(real)} "$@"; rc=$?`,
      // Second line of `times`: the children's user and system time, e.g. "0m0.412s 0m0.020s".
      // (`times` itself, not in a $(...) subshell, which would report the subshell's children.)
      `times > "${log}.$$"; echo "${tool} $(sed -n 2p "${log}.$$") $*" >> ${JSON.stringify(log)}; rm -f "${log}.$$"`,
      'exit $rc',
      '',
    ].join('\n'), { mode: 0o755 });
    return script;
  };
  const realFfmpeg = ffmpegPath();
  const realFfprobe = ffprobePath();
  useBinaries({ ffmpegPath: await wrapper('ffmpeg', realFfmpeg), ffprobePath: await wrapper('ffprobe', realFfprobe) });
  const seconds = (t: string) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
  };
  try {
    console.log(`\n3. per invocation, CPU to the ms (best of ${RUNS} by total)`);
    let bareMs = Number.NaN;
    for (const c of cases) {
      let best: { totalMs: number; lines: string[] } | null = null;
      for (let r = 0; r < RUNS; r++) {
        await writeFile(log, '');
        await c.run();
        const entries = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
          const [tool, user, sys, ...args] = line.split(' ');
          const cpuMs = (seconds(user!) + seconds(sys!)) * 1000;
          return { cpuMs, text: `${tool} ${describe(args)}` };
        });
        const totalMs = entries.reduce((a, e) => a + e.cpuMs, 0);
        if (!best || totalMs < best.totalMs) best = { totalMs, lines: entries.map((e) => `${e.cpuMs.toFixed(0).padStart(6)} ms  ${e.text}`) };
      }
      if (Number.isNaN(bareMs)) bareMs = best!.totalMs;
      console.log(`   ${c.label.padEnd(37)} ${best!.totalMs.toFixed(0).padStart(6)} ms (${ratio(best!.totalMs, bareMs)})`);
      for (const line of best!.lines) console.log(`       ${line}`);
    }
  } finally {
    useBinaries({ ffmpegPath: null, ffprobePath: null });
  }
}

/** A short description of an ffmpeg / ffprobe command line (what it reads and writes). */
function describe(args: string[]): string {
  const inputs = args.filter((_, i) => args[i - 1] === '-i').map((p) => path.basename(p));
  const codecs = [...new Set(args.filter((_, i) => /^-c(:[av])?$/.test(args[i - 1] ?? '')))].join('/');
  if (args.includes('-h')) return `capabilities (${args[args.indexOf('-h') + 1]})`;
  if (!inputs.length) return `probe ${path.basename(args.at(-1) ?? '')}`;
  const shown = inputs.length > 3 ? `${inputs.slice(0, 2).join(', ')} ... (${inputs.length} inputs)` : inputs.join(', ');
  return `${shown}${codecs ? ` -> ${codecs}` : ''} -> ${path.basename(args.at(-1) ?? '')}`;
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
    // A voice-over under two scenes (15..25 s): the partial mix a narrated scene pair makes.
    await runFfmpeg([
      '-loglevel', 'error', '-f', 'lavfi',
      '-i', `aevalsrc='0.4*sin(2*PI*180*t+3*sin(2*PI*4*t))*(0.6+0.4*sin(2*PI*3*t))':s=48000:d=10`,
      '-c:a', 'aac', '-b:a', '128k', file('voice.m4a'),
    ]);
    const voiced = { clips, tracks: [{ path: file('voice.m4a'), offsetS: 3 * SCENE_S, fadeInS: 0.2, fadeOutS: 0.2 }] };
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
      { label: 'renderTimeline, voice under 2 scenes', req: { ...voiced, width: W, height: H } },
      { label: 'renderTimeline, no mixing (reencode)', req: { clips, width: W, height: H, strategy: 'reencode' } },
      { label: 'renderTimeline, mixing (reencode)', req: { ...mixed, width: W, height: H, strategy: 'reencode' } },
    ];
    // The mixing render's floor: ffmpeg's AAC encoder alone on the mixed timeline's audio (PCM from
    // an untimed warm-up render, which also caches the ffmpeg capability probe), with ffmpeg's
    // defaults at 160 kb/s and with the render's settings, and on 50 s of silence.
    const warm = await renderTimeline({ ...mixed, width: W, height: H, outPath: file('warm-up.mp4') });
    await runFfmpeg(['-loglevel', 'error', '-i', warm.path, '-map', '0:a:0', '-c:a', 'pcm_s16le', file('mix.wav')]);
    await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', `anullsrc=r=48000:cl=stereo`, '-t', String(SCENES * SCENE_S), '-c:a', 'pcm_s16le', file('silence.wav')]);
    const aac = aacEncoderArgs(await ffmpegCapabilities());
    const encodes: { label: string; args: (r: number) => string[] }[] = [
      { label: 'bare AAC encode of the mix, defaults', args: (r) => ['-i', file('mix.wav'), '-c:a', 'aac', '-b:a', '160k', file(`enc-default-${r}.m4a`)] },
      { label: 'bare AAC encode of the mix, render\'s', args: (r) => ['-i', file('mix.wav'), ...aac, file(`enc-render-${r}.m4a`)] },
      { label: 'bare AAC encode of silence, render\'s', args: (r) => ['-i', file('silence.wav'), ...aac, file(`enc-silence-${r}.m4a`)] },
    ];
    const encodeMs = encodes.map(() => [] as Sample[]);
    const bareRender: Sample[] = [];
    const caseMs = cases.map(() => [] as Sample[]);
    const strategies = cases.map(() => '');
    const beforeRender = BEFORE
      ? ((await import(path.resolve(BEFORE, 'src/media/index.js'))) as { renderTimeline: typeof renderTimeline }).renderTimeline
      : null;
    const beforeCases = cases.filter((c) => !c.req.strategy);
    const beforeMs = beforeCases.map(() => [] as Sample[]);
    for (let r = 0; r < RUNS; r++) {
      bareRender.push(await bare(['-loglevel', 'error', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', file(`bare-render-${r}.mp4`)]));
      for (const [i, e] of encodes.entries()) encodeMs[i]!.push(await bare(['-loglevel', 'error', ...e.args(r)]));
      for (const [i, c] of cases.entries()) {
        const out = file(`render-${i}-${r}.mp4`);
        let result: Awaited<ReturnType<typeof renderTimeline>> | undefined;
        caseMs[i]!.push(await timed(async () => (result = await renderTimeline({ ...c.req, outPath: out }))));
        strategies[i] = `${result!.strategy} (audio encoded ${result!.audioEncodedS.toFixed(0)} s)`;
      }
      if (beforeRender) {
        for (const [i, c] of beforeCases.entries()) beforeMs[i]!.push(await timed(() => beforeRender({ ...c.req, outPath: file(`before-${i}-${r}.mp4`) })));
      }
    }
    const bareProbe = await probeMedia(file('bare-render-0.mp4'));
    console.log(row('bare concat -c copy', bareRender, bareRender, `   duration ${bareProbe.durationS.toFixed(3)} s`));
    for (const [i, c] of cases.entries()) {
      const probe = await probeMedia(file(`render-${i}-0.mp4`));
      const audio = probe.audioDurationS !== null ? ` (audio ${probe.audioDurationS.toFixed(3)})` : '';
      console.log(row(c.label, caseMs[i]!, bareRender, `   ${strategies[i]}, duration ${probe.durationS.toFixed(3)} s${audio}`));
    }
    if (beforeRender) {
      for (const [i, c] of beforeCases.entries()) {
        const probe = await probeMedia(file(`before-${i}-0.mp4`));
        console.log(row(`${c.label.trim()} (--before)`, beforeMs[i]!, bareRender, `   duration ${probe.durationS.toFixed(3)} s`));
      }
    }
    for (const [i, e] of encodes.entries()) console.log(row(e.label, encodeMs[i]!, bareRender));
    console.log(`\n   expected duration ${(SCENES * SCENE_S).toFixed(3)} s`);

    // 3. Where a mixing render's CPU goes: each ffmpeg / ffprobe it runs, timed to the millisecond.
    await breakdown(dir, [
      { label: 'bare concat -c copy', run: () => bare(['-loglevel', 'error', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', file('bd-bare.mp4')]) },
      { label: 'renderTimeline, mixing (auto)', run: () => renderTimeline({ ...mixed, width: W, height: H, outPath: file('bd-mixed.mp4') }) },
      { label: 'renderTimeline, no mixing (auto)', run: () => renderTimeline({ clips, width: W, height: H, outPath: file('bd-plain.mp4') }) },
      { label: 'renderTimeline, voice under 2 scenes', run: () => renderTimeline({ ...voiced, width: W, height: H, outPath: file('bd-voiced.mp4') }) },
    ]);
    console.log(`\n   files in ${KEEP ? dir : '(removed)'}`);
  } finally {
    if (!KEEP) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
