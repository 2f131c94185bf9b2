/**
 * Real media the fake providers deliver, made once per process with ffmpeg: an MP4 with sound,
 * clips of the length and shape a model was asked for, misfits (0.2 s, portrait), and a
 * PNG, so that the adapters' probe, checks and conform steps run for real.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFfmpeg } from '../../../src/media/index.js';

export interface FakeMedia {
  /** 4 s with sound (Sora's shortest). */
  mp4: Buffer;
  /** 0.2 s with sound: far shorter than any scene. */
  blipMp4: Buffer;
  /** 4 s with sound, 200x640: no landscape scene's shape. */
  tallMp4: Buffer;
  png: Buffer;
  dir: string;
}

let made: Promise<FakeMedia> | null = null;

export function fakeMedia(): Promise<FakeMedia> {
  made ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-fake-media-'));
    const png = path.join(dir, 'still.png');
    const clip = async (name: string, seconds: number, sound: boolean, size = '320x180') => {
      const out = path.join(dir, name);
      const audio = sound ? ['-f', 'lavfi', '-i', `sine=frequency=330:sample_rate=48000:duration=${seconds}`, '-c:a', 'aac', '-shortest'] : [];
      await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25:duration=${seconds}`, ...audio,
        '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', out]);
      return fs.readFileSync(out);
    };
    const [mp4, blipMp4, tallMp4] = await Promise.all([clip('clip.mp4', 4, true), clip('blip.mp4', 0.2, true), clip('tall.mp4', 4, true, '200x640')]);
    await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=512x288:rate=1', '-frames:v', '1', png]);
    return { mp4, blipMp4, tallMp4, png: fs.readFileSync(png), dir };
  })();
  return made;
}

const clips = new Map<string, Promise<Buffer>>();

/**
 * A clip of the length and shape a model was asked for (made once, smaller: short side 180), as a
 * real model delivers it; `sound` false for models without audio.
 */
export function fakeClip(seconds: number, sound: boolean, width: number, height: number): Promise<Buffer> {
  const k = 180 / Math.min(width, height);
  const even = (n: number) => Math.max(2, Math.round((n * k) / 2) * 2);
  const size = `${even(width)}x${even(height)}`;
  const key = `${seconds}-${sound}-${size}`;
  let made = clips.get(key);
  if (!made) {
    made = (async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-fake-clip-'));
      const out = path.join(dir, 'clip.mp4');
      const audio = sound ? ['-f', 'lavfi', '-i', `sine=frequency=330:sample_rate=48000:duration=${seconds}`, '-c:a', 'aac', '-shortest'] : [];
      await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25:duration=${seconds}`, ...audio,
        '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', out]);
      return fs.readFileSync(out);
    })();
    clips.set(key, made);
  }
  return made;
}

/** Width and height from a PNG's IHDR chunk (null when the bytes are not a PNG). */
export function pngSize(buf: Buffer): { width: number; height: number } | null {
  if (buf.length < 24 || buf.toString('latin1', 1, 4) !== 'PNG') return null;
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}
