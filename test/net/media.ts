import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const run = promisify(execFile);

export function ffmpegBin(): string {
  return process.env.FFMPEG_PATH?.trim() || (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
}

/** Small real media files made with ffmpeg: name -> ffmpeg arguments between inputs and output. */
export const recipes: Record<string, string[]> = {
  'a.png': ['-f', 'lavfi', '-i', 'testsrc=s=32x24:r=1', '-frames:v', '1'],
  'a.jpg': ['-f', 'lavfi', '-i', 'testsrc=s=32x24:r=1', '-frames:v', '1'],
  'a.gif': ['-f', 'lavfi', '-i', 'testsrc=s=32x24:r=1', '-frames:v', '1'],
  'a.webp': ['-f', 'lavfi', '-i', 'testsrc=s=32x24:r=1', '-frames:v', '1', '-c:v', 'libwebp'],
  'a.mp4': ['-f', 'lavfi', '-i', 'testsrc=s=64x48:r=5', '-f', 'lavfi', '-i', 'sine=f=440:r=8000', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest'],
  'a.mov': ['-f', 'lavfi', '-i', 'testsrc=s=64x48:r=5', '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
  'a.webm': ['-f', 'lavfi', '-i', 'testsrc=s=64x48:r=5', '-t', '1', '-c:v', 'libvpx', '-b:v', '50k'],
  'a.mkv': ['-f', 'lavfi', '-i', 'testsrc=s=64x48:r=5', '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast'],
  'a.mp3': ['-f', 'lavfi', '-i', 'sine=f=440:r=8000', '-t', '2', '-c:a', 'libmp3lame', '-b:a', '16k'],
  'noid3.mp3': ['-f', 'lavfi', '-i', 'sine=f=440:r=8000', '-t', '1', '-c:a', 'libmp3lame', '-b:a', '16k', '-write_xing', '0', '-id3v2_version', '0'],
  'a.wav': ['-f', 'lavfi', '-i', 'sine=f=440:r=8000', '-t', '1', '-c:a', 'pcm_u8'],
  'a.ogg': ['-f', 'lavfi', '-i', 'sine=f=440:r=8000', '-t', '1', '-c:a', 'libvorbis'],
  'a.opus': ['-f', 'lavfi', '-i', 'sine=f=440:r=48000', '-t', '1', '-c:a', 'libopus', '-f', 'ogg'],
  'a.flac': ['-f', 'lavfi', '-i', 'sine=f=440:r=8000', '-t', '1', '-c:a', 'flac'],
  'a.m4a': ['-f', 'lavfi', '-i', 'sine=f=440:r=8000', '-t', '1', '-c:a', 'aac', '-f', 'ipod'],
  'a.aac': ['-f', 'lavfi', '-i', 'sine=f=440:r=8000', '-t', '1', '-c:a', 'aac', '-f', 'adts'],
  'audio-only.mp4': ['-f', 'lavfi', '-i', 'sine=f=440:r=8000', '-t', '1', '-c:a', 'aac'],
  // 4 minutes of video at 16x16, 1 fps: longer than the 3-minute video limit, tiny and fast to make.
  'long.mp4': ['-f', 'lavfi', '-i', 'color=c=black:s=16x16:r=1', '-t', '240', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
  // 11 minutes of silence: longer than the 10-minute music limit.
  'long.mp3': ['-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '660', '-c:a', 'libmp3lame', '-b:a', '8k'],
};

/** Make `name` (a key of `recipes`) in `dir`; returns its path. */
export async function makeMedia(dir: string, name: keyof typeof recipes | string): Promise<string> {
  const args = recipes[name];
  if (!args) throw new Error(`no recipe for ${name}`);
  const out = path.join(dir, name);
  await run(ffmpegBin(), ['-hide_banner', '-loglevel', 'error', '-y', ...args, out], { timeout: 60_000 });
  return out;
}
