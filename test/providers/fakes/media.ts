/**
 * Real media the fake providers deliver, made once per process with ffmpeg: a short MP4 with
 * sound, one without, and a PNG, so that the adapters' probe and conform steps run for real.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFfmpeg } from '../../../src/media/index.js';

export interface FakeMedia {
  mp4: Buffer;
  silentMp4: Buffer;
  png: Buffer;
  dir: string;
}

let made: Promise<FakeMedia> | null = null;

export function fakeMedia(): Promise<FakeMedia> {
  made ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-fake-media-'));
    const mp4 = path.join(dir, 'clip.mp4');
    const silent = path.join(dir, 'silent.mp4');
    const png = path.join(dir, 'still.png');
    const video = ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=4'];
    await runFfmpeg(['-loglevel', 'error', ...video, '-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000:duration=4',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', mp4]);
    await runFfmpeg(['-loglevel', 'error', ...video, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', silent]);
    await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=512x288:rate=1', '-frames:v', '1', png]);
    return { mp4: fs.readFileSync(mp4), silentMp4: fs.readFileSync(silent), png: fs.readFileSync(png), dir };
  })();
  return made;
}

/** Width and height from a PNG's IHDR chunk (null when the bytes are not a PNG). */
export function pngSize(buf: Buffer): { width: number; height: number } | null {
  if (buf.length < 24 || buf.toString('latin1', 1, 4) !== 'PNG') return null;
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}
