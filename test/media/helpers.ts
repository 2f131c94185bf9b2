import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runFfmpeg, runFfprobe } from '../../src/media/index.js';

/** A temp directory per test file; removed in afterAll. */
export async function makeTempDir(name: string): Promise<{ dir: string; file: (n: string) => string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `lavendly-media-${name}-`));
  return { dir, file: (n) => path.join(dir, n), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Number of video and audio streams in a file (ffprobe). */
export async function streamCounts(file: string): Promise<{ video: number; audio: number }> {
  const { stdout } = await runFfprobe(['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'json', file]);
  const streams = (JSON.parse(stdout.toString('utf8')) as { streams: { codec_type: string }[] }).streams;
  return {
    video: streams.filter((s) => s.codec_type === 'video').length,
    audio: streams.filter((s) => s.codec_type === 'audio').length,
  };
}

/** RGB of one pixel of an image (or the first frame of a video). */
export async function pixelAt(file: string, x: number, y: number): Promise<[number, number, number]> {
  const { stdout } = await runFfmpeg(
    ['-loglevel', 'error', '-i', file, '-vf', `crop=1:1:${x}:${y}`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { captureStdout: true },
  );
  return [stdout[0]!, stdout[1]!, stdout[2]!];
}

const ENCODE = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ar', '48000', '-ac', '2'];

/**
 * An MP4 made on purpose (defect fixtures): `video` / `audio` are lavfi source descriptions,
 * or `videoInput` raw input arguments (e.g. a looped still).
 */
export async function fixtureClip(
  outPath: string,
  opts: { video?: string; videoInput?: string[]; audio?: string; durationS: number; size?: string },
): Promise<string> {
  const inputs = opts.videoInput ?? ['-f', 'lavfi', '-i', opts.video ?? `testsrc2=s=${opts.size ?? '320x180'}:r=25`];
  if (opts.audio) inputs.push('-f', 'lavfi', '-i', opts.audio);
  await runFfmpeg(['-loglevel', 'error', ...inputs, '-t', String(opts.durationS), ...ENCODE, outPath]);
  return outPath;
}

/** An audio-only music file: a chord at a fixed level. */
export async function musicFile(outPath: string, durationS: number): Promise<string> {
  await runFfmpeg([
    '-loglevel', 'error',
    '-f', 'lavfi', '-i', `aevalsrc='0.3*sin(2*PI*523*t)+0.2*sin(2*PI*659*t)|0.3*sin(2*PI*523*t)+0.2*sin(2*PI*784*t)':s=48000:d=${durationS}`,
    '-c:a', 'aac', '-b:a', '128k', outPath,
  ]);
  return outPath;
}
