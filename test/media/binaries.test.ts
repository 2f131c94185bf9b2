import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { useBinaries } from '../../src/media/binaries.js';
import { ffmpegCapabilities, ffmpegPath, ffprobePath, MediaError, probeMedia, runFfmpeg } from '../../src/media/index.js';

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

  it('throws a MediaError carrying the tail of stderr', async () => {
    const err = await runFfmpeg(['-i', '/nonexistent/input.mp4', '-f', 'null', '-']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaError);
    expect(err).toMatchObject({ code: 'ffmpeg_failed', exitCode: 1 });
    expect((err as MediaError).stderrTail).toMatch(/nonexistent\/input\.mp4/);
    expect((err as MediaError).message).toMatch(/No such file/);
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
