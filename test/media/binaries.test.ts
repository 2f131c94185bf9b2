import { afterEach, describe, expect, it } from 'vitest';
import { ffmpegCapabilities, ffmpegPath, ffprobePath, MediaError, probeMedia, runFfmpeg } from '../../src/media/index.js';

const saved = { ffmpeg: process.env.FFMPEG_PATH, ffprobe: process.env.FFPROBE_PATH };
afterEach(() => {
  for (const [k, v] of [['FFMPEG_PATH', saved.ffmpeg], ['FFPROBE_PATH', saved.ffprobe]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('ffmpeg binaries', () => {
  it('resolves the npm-shipped binaries, overridable by FFMPEG_PATH / FFPROBE_PATH', async () => {
    delete process.env.FFMPEG_PATH;
    delete process.env.FFPROBE_PATH;
    expect(ffmpegPath()).toMatch(/ffmpeg$/);
    expect(ffprobePath()).toMatch(/ffprobe$/);
    process.env.FFMPEG_PATH = '/nonexistent/ffmpeg';
    process.env.FFPROBE_PATH = '/nonexistent/ffprobe';
    expect(ffmpegPath()).toBe('/nonexistent/ffmpeg');
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
