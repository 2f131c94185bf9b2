import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { useBinaries } from '../../src/media/binaries.js';
import { aacEncoderArgs, ffmpegCapabilities, ffmpegPath, ffprobePath, MediaError, probeMedia, runFfmpeg } from '../../src/media/index.js';
import { pngHeaderOnly } from './crafted.js';
import { makeTempDir } from './helpers.js';

afterEach(() => useBinaries(loadConfig({}).media));

describe('ffmpeg binaries', () => {
  it('resolves the npm-shipped binaries, overridable by FFMPEG_PATH / FFPROBE_PATH', async () => {
    useBinaries(loadConfig({}).media);
    expect(ffmpegPath()).toMatch(/ffmpeg$/);
    expect(ffprobePath()).toMatch(/ffprobe$/);
    // The config loader reads the variables; the composition points hand them to useBinaries.
    useBinaries(loadConfig({ FFMPEG_PATH: ' /nonexistent/ffmpeg ', FFPROBE_PATH: '/nonexistent/ffprobe' }).media);
    expect(ffmpegPath()).toBe('/nonexistent/ffmpeg');
    expect(ffprobePath()).toBe('/nonexistent/ffprobe');
    await expect(runFfmpeg(['-version'])).rejects.toMatchObject({ code: 'binary_missing' });
    await expect(probeMedia(import.meta.filename)).rejects.toMatchObject({ code: 'binary_missing' });
  });

  it('an ffmpeg this user may not execute is a missing binary, not an ffmpeg error', async () => {
    // setpriv exits 126 for it (127 for a missing file); read as ffmpeg's own failure, the job
    // was retried as if the input were at fault.
    const tmp = await makeTempDir('not-executable');
    try {
      writeFileSync(tmp.file('ffmpeg'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
      useBinaries({ ffmpegPath: tmp.file('ffmpeg'), ffprobePath: tmp.file('ffmpeg') });
      await expect(runFfmpeg(['-version'])).rejects.toMatchObject({ code: 'binary_missing', message: expect.stringMatching(/Permission denied/) });
      await expect(probeMedia(import.meta.filename)).rejects.toMatchObject({ code: 'binary_missing' });
    } finally {
      await tmp.cleanup();
    }
  });

  it('throws a MediaError carrying the tail of stderr', async () => {
    const err = await runFfmpeg(['-i', '/nonexistent/input.mp4', '-f', 'null', '-']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaError);
    expect(err).toMatchObject({ code: 'ffmpeg_failed', exitCode: 1 });
    expect((err as MediaError).stderrTail).toMatch(/nonexistent\/input\.mp4/);
    expect((err as MediaError).message).toMatch(/No such file/);
  });

  it('refuses a 2 GB frame at once (-max_alloc) instead of growing to 2 GB; ffprobe still tells its size', async () => {
    // Without the cap ffmpeg decoded this 16000x16000 16-bit RGBA header for 4 s at 2 GB of memory.
    const tmp = await makeTempDir('max-alloc');
    try {
      writeFileSync(tmp.file('huge.png'), pngHeaderOnly(16000, 16000, 16));
      const err = await runFfmpeg(['-loglevel', 'error', '-i', tmp.file('huge.png'), '-frames:v', '1', '-f', 'null', '-']).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ffmpeg_failed' });
      expect((err as MediaError).stderrTail).toMatch(/get_buffer\(\) failed|Cannot allocate memory/);
      expect(await probeMedia(tmp.file('huge.png'))).toMatchObject({ width: 16000, height: 16000 });
    } finally {
      await tmp.cleanup();
    }
  });

  it('kills ffmpeg on timeout and on abort', async () => {
    const endless = ['-f', 'lavfi', '-i', 'nullsrc=s=16x16', '-f', 'null', '-'];
    await expect(runFfmpeg(endless, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'timeout' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await expect(runFfmpeg(endless, { signal: ac.signal })).rejects.toMatchObject({ code: 'aborted' });
    await expect(runFfmpeg(endless, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'aborted' });
  });

  it('knows what the ffmpeg build supports', async () => {
    const caps = await ffmpegCapabilities();
    expect(typeof caps.amixNormalize).toBe('boolean');
    // The AAC encoder's private options, as the mixing render turns some of them off.
    expect(caps.aacOptions.has('aac_coder')).toBe(true);
  });

  it('turns off only the AAC encoder options the build has', () => {
    const all = aacEncoderArgs({ aacOptions: new Set(['aac_coder', 'aac_ms', 'aac_is', 'aac_pns', 'aac_tns']) });
    expect(all).toEqual(['-c:a', 'aac', '-b:a', '160k', '-aac_ms', '0', '-aac_is', '0', '-aac_pns', '0', '-aac_tns', '0']);
    expect(aacEncoderArgs({ aacOptions: new Set(['aac_ms']) })).toEqual(['-c:a', 'aac', '-b:a', '160k', '-aac_ms', '0']);
  });
});

describe('error tails', () => {
  it('keeps ffmpeg progress lines out of the error tail', async () => {
    const err = (await runFfmpeg([
      '-loglevel', 'error', '-progress', 'pipe:2', '-nostats',
      '-f', 'lavfi', '-i', 'testsrc2=s=64x64:r=25:d=1', '-vf', 'nosuchfilter', '-f', 'null', '-',
    ]).catch((e: unknown) => e)) as MediaError;
    expect(err.code).toBe('ffmpeg_failed');
    expect(err.stderrTail).toMatch(/nosuchfilter/i);
    expect(err.stderrTail).not.toMatch(/^progress=/m);
  });
});
