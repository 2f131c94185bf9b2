import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adtsFrames } from '../../src/media/audio-copy.js';
import {
  LocalImageProvider,
  LocalVideoProvider,
  measureLoudness,
  probeClip,
  probeMedia,
  renderTimeline,
  runFfmpeg,
  runFfprobe,
  type TimelineClip,
} from '../../src/media/index.js';
import { fixtureClip, makeTempDir, musicFile, streamCounts } from './helpers.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let clips: TimelineClip[];
let music: string;
const W = 320;
const H = 180;
const DURATIONS = [2, 2.5, 2];
const TOTAL = DURATIONS.reduce((a, b) => a + b, 0);
const FRAME = 1 / 25;

beforeAll(async () => {
  tmp = await makeTempDir('stitch');
  const images = new LocalImageProvider();
  const videos = new LocalVideoProvider();
  clips = [];
  for (const [i, durationS] of DURATIONS.entries()) {
    const prompt = `scene ${i + 1}`;
    const still = await images.generateImage({ prompt, width: W, height: H, outPath: tmp.file(`s${i}.png`) });
    const clip = await videos.generateClip({ imagePath: still.path, prompt, durationS, width: W, height: H, outPath: tmp.file(`c${i}.mp4`) });
    clips.push({ path: clip.path, durationS });
  }
  music = await musicFile(tmp.file('music.m4a'), 12);
});
afterAll(() => tmp.cleanup());

/** A file's first audio stream as AAC frames (ADTS, header included). */
async function aacFrames(file: string, name: string): Promise<Buffer[]> {
  const adts = tmp.file(`${name}.aac`);
  await runFfmpeg(['-loglevel', 'error', '-i', file, '-map', '0:a:0', '-c:a', 'copy', '-f', 'adts', adts]);
  return adtsFrames(await readFile(adts))!.map((f) => Buffer.from(f.bytes));
}

async function expectTimeline(file: string, totalS: number) {
  const probe = await probeMedia(file);
  expect(Math.abs(probe.durationS - totalS)).toBeLessThanOrEqual(FRAME + 1e-6);
  expect(Math.abs(probe.videoDurationS! - totalS)).toBeLessThanOrEqual(FRAME + 1e-6);
  expect(Math.abs(probe.audioDurationS! - totalS)).toBeLessThanOrEqual(FRAME + 1e-6);
  expect(probe).toMatchObject({ width: W, height: H, videoCodec: 'h264', audioCodec: 'aac', audioSampleRate: 48000, audioChannels: 2 });
  expect(await streamCounts(file)).toEqual({ video: 1, audio: 1 });
  return probe;
}

describe('renderTimeline', () => {
  let baseLufs: number;

  it('stitches 3 clips: summed duration, one video + one audio stream (both stream-copied: nothing to mix)', async () => {
    const res = await renderTimeline({ clips, width: W, height: H, outPath: tmp.file('plain.mp4') });
    expect(res.strategy).toBe('copy');
    expect(res.durationS).toBeCloseTo(TOTAL, 6);
    // The file lasts as long as its video: the copied audio never runs past it.
    const probe = await expectTimeline(res.path, TOTAL);
    expect(probe.durationS).toBeCloseTo(probe.videoDurationS!, 3);
    baseLufs = (await measureLoudness(res.path)).integratedLufs;
    expect(baseLufs).toBeGreaterThan(-30);

    // The joined stream decodes without a single error, frames evenly spaced from 0 (no gap at the joins).
    const decode = await runFfmpeg(['-v', 'error', '-i', res.path, '-f', 'null', '-']);
    expect(decode.stderr.trim()).toBe('');
    const { stdout } = await runFfprobe(['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', res.path]);
    const pts = stdout.toString('utf8').trim().split('\n').map(Number).sort((a, b) => a - b);
    expect(pts).toHaveLength(Math.round(TOTAL * 25));
    expect(pts[0]).toBe(0);
    pts.slice(1).forEach((t, i) => expect(t - pts[i]!).toBeCloseTo(FRAME, 3));
  });

  it('joins the clips\' audio by copy without drift: every slot still holds its own clip\'s sound', async () => {
    // Eight 0.52 s clips, loud and silent in turn. Joined naively (each clip's priming frame and
    // whole last frame kept), the audio would run ~35 ms late per join, ~0.25 s by the last slot.
    const n = 8;
    const slotS = 0.52;
    const parts: TimelineClip[] = [];
    for (let i = 0; i < n; i++) {
      const audio = i % 2 ? 'aevalsrc=0:s=48000:c=stereo' : 'sine=f=440:r=48000';
      parts.push({ path: await fixtureClip(tmp.file(`turn-${i}.mp4`), { audio, durationS: slotS }), durationS: slotS });
    }
    const res = await renderTimeline({ clips: parts, width: W, height: H, outPath: tmp.file('turns.mp4') });
    expect(res.strategy).toBe('copy');
    const probe = await expectTimeline(res.path, n * slotS);
    // The audio never runs past the video: the file lasts exactly the timeline, the audio ends
    // within one AAC frame before it.
    expect(probe.durationS).toBeCloseTo(n * slotS, 3);
    expect(probe.videoDurationS).toBeCloseTo(n * slotS, 3);
    expect(probe.audioDurationS!).toBeLessThanOrEqual(n * slotS + 1e-6);
    expect(probe.audioDurationS!).toBeGreaterThan(n * slotS - 1024 / 48000);
    const decode = await runFfmpeg(['-v', 'error', '-i', res.path, '-f', 'null', '-']);
    expect(decode.stderr.trim()).toBe('');
    // The middle of each slot (40 ms kept clear of each join) is loud or silent as its clip.
    const windows = await Promise.all(parts.map((_, i) => measureLoudness(res.path, { startS: i * slotS + 0.04, durationS: slotS - 0.08 })));
    windows.forEach((w, i) => {
      if (i % 2) expect(w.maxVolumeDb, `slot ${i}`).toBeLessThan(-60);
      else expect(w.meanVolumeDb, `slot ${i}`).toBeGreaterThan(-30);
    });
  });

  it('ends the copied audio no later than the video: the file lasts exactly the timeline', async () => {
    // 4 s is 187.5 AAC frames: rounding the last join to the nearest frame would end the audio
    // 10.7 ms after the video (4.011 s for the file, like the drift of a plain concat).
    const res = await renderTimeline({ clips: [clips[0]!, clips[2]!], width: W, height: H, outPath: tmp.file('exact.mp4') });
    expect(res.strategy).toBe('copy');
    const probe = await expectTimeline(res.path, 4);
    expect(probe.videoDurationS).toBeCloseTo(4, 3);
    expect(probe.durationS).toBeCloseTo(4, 3);
    expect(probe.audioDurationS!).toBeLessThanOrEqual(4 + 1e-6);
    expect(probe.audioDurationS!).toBeGreaterThan(4 - 1024 / 48000);
  });

  it('re-encodes when clips do not share one decoder configuration', async () => {
    const other = await fixtureClip(tmp.file('other-encoder.mp4'), { video: `testsrc2=s=${W}x${H}:r=25`, audio: 'sine=f=500:r=48000', durationS: 2 });
    const res = await renderTimeline({ clips: [clips[0]!, { path: other, durationS: 2 }], width: W, height: H, outPath: tmp.file('two-encoders.mp4') });
    expect(res.strategy).toBe('reencode');
    await expectTimeline(res.path, 4);
  });

  it('uses a clip\'s stored probe when the file\'s size matches it, and probes the clip when not', async () => {
    const stored = await Promise.all(clips.map((c) => probeClip(c.path)));
    expect(stored.every((p) => p.videoExtradataHash !== null)).toBe(true);
    // A stored probe naming another decoder configuration for clip 2: trusted, it forces a re-encode.
    const altered = stored.map((p, i) => (i === 1 ? { ...p, videoExtradataHash: 'another' } : p));
    const trusted = await renderTimeline({ clips: clips.map((c, i) => ({ ...c, probe: altered[i] })), width: W, height: H, outPath: tmp.file('stored-altered.mp4') });
    expect(trusted.strategy).toBe('reencode');
    // The same altered probe for a file of another size is ignored: the clips are probed and copied.
    const stale = altered.map((p) => ({ ...p, sizeBytes: p.sizeBytes + 1 }));
    const probed = await renderTimeline({ clips: clips.map((c, i) => ({ ...c, probe: stale[i] })), width: W, height: H, outPath: tmp.file('stored-stale.mp4') });
    expect(probed.strategy).toBe('copy');
    // The true stored probes give what probing gives.
    const same = await renderTimeline({ clips: clips.map((c, i) => ({ ...c, probe: stored[i] })), width: W, height: H, outPath: tmp.file('stored.mp4') });
    expect(same.strategy).toBe('copy');
    await expectTimeline(same.path, TOTAL);
  });

  it('re-encodes on request with the same result shape', async () => {
    const progress: number[] = [];
    const res = await renderTimeline({ clips, width: W, height: H, outPath: tmp.file('reencoded.mp4'), strategy: 'reencode', onProgress: (f) => progress.push(f) });
    expect(res.strategy).toBe('reencode');
    await expectTimeline(res.path, TOTAL);
    expect(progress.at(-1)).toBe(1);
    expect((await measureLoudness(res.path)).integratedLufs).toBeCloseTo(baseLufs, 0);
  });

  it('stitches mismatched inputs: other sizes, no audio, odd durations', async () => {
    const big = await fixtureClip(tmp.file('big.mp4'), { video: 'testsrc2=s=640x480:r=30', audio: 'sine=f=330:r=44100', durationS: 1.5 });
    const mute = await fixtureClip(tmp.file('mute.mp4'), { video: 'testsrc2=s=160x90:r=25', durationS: 1 });
    const mixed: TimelineClip[] = [{ path: big, durationS: 1.5 }, clips[0]!, { path: mute, durationS: 1.2 /* padded */ }];
    const res = await renderTimeline({ clips: mixed, width: W, height: H, outPath: tmp.file('mixed.mp4') });
    expect(res.strategy).toBe('reencode');
    await expectTimeline(res.path, 1.5 + 2 + 1.2);
    // The clip without sound is silent in its slot.
    const tail = await measureLoudness(res.path, { startS: 3.6, durationS: 1 });
    expect(tail.meanVolumeDb).toBeLessThan(-80);
  });

  it('mixes a music track at -12 dB: audible, and louder than the render without it', async () => {
    const res = await renderTimeline({
      clips,
      tracks: [{ path: music, volumeDb: -12 }],
      width: W, height: H, outPath: tmp.file('music.mp4'),
    });
    expect(res.strategy).toBe('copy-video');
    const probe = await expectTimeline(res.path, TOTAL);
    expect(probe.durationS).toBeCloseTo(probe.videoDurationS!, 3);
    const withMusic = await measureLoudness(res.path);
    expect(withMusic.integratedLufs).toBeGreaterThan(baseLufs + 0.5);

    // Alone (native audio muted), the -12 dB music is clearly audible, and 12 dB under full level.
    const mutedClips = clips.map((c) => ({ ...c, nativeAudio: { enabled: false } }));
    const alone = await renderTimeline({ clips: mutedClips, tracks: [{ path: music, volumeDb: -12 }], width: W, height: H, outPath: tmp.file('music-alone.mp4') });
    const full = await renderTimeline({ clips: mutedClips, tracks: [{ path: music, volumeDb: 0 }], width: W, height: H, outPath: tmp.file('music-full.mp4') });
    const [aloneL, fullL] = await Promise.all([measureLoudness(alone.path), measureLoudness(full.path)]);
    expect(aloneL.integratedLufs).toBeGreaterThan(-40);
    expect(fullL.integratedLufs - aloneL.integratedLufs).toBeCloseTo(12, 0);
  });

  it('encodes only the scenes a track plays under: the others keep their clips\' AAC frames', async () => {
    // 1 s of music from 2.5 s: under scene 2 only (2..4.5 s). Scenes 1 and 3 are heard unchanged.
    const res = await renderTimeline({
      clips,
      tracks: [{ path: music, volumeDb: -6, offsetS: 2.5, trimEndS: 1 }],
      width: W, height: H, outPath: tmp.file('voice-on-one.mp4'),
    });
    expect(res.strategy).toBe('copy-video');
    expect(res.audioEncodedS).toBeCloseTo(DURATIONS[1]!, 6);
    const probe = await expectTimeline(res.path, TOTAL);
    // The joined audio never runs past the video: the file lasts exactly as long as its video.
    expect(probe.durationS).toBeCloseTo(probe.videoDurationS!, 3);
    expect(probe.audioDurationS!).toBeLessThanOrEqual(probe.videoDurationS! + 1e-6);
    const decode = await runFfmpeg(['-v', 'error', '-i', res.path, '-f', 'null', '-']);
    expect(decode.stderr.trim()).toBe('');

    // Scenes 1 and 3 hold their clips' own AAC frames, byte for byte (a whole-timeline encode has none).
    const out = await aacFrames(res.path, 'out');
    const first = (await aacFrames(clips[0]!.path, 'clip0')).slice(1); // without the priming frame
    const third = (await aacFrames(clips[2]!.path, 'clip2')).slice(1);
    const scene1 = Math.floor((DURATIONS[0]! * 48000) / 1024) - 1;
    expect(out.slice(0, scene1)).toEqual(first.slice(0, scene1));
    const at = out.findIndex((f) => f.equals(third[0]!));
    expect(at).toBeGreaterThan(scene1);
    expect(out.slice(at, at + 80)).toEqual(third.slice(0, 80));

    // Scene 2 is mixed: louder than without the track; the scenes around it sound as before.
    const [plainMid, mid, plainEdge, edge] = await Promise.all([
      measureLoudness(clips[1]!.path, { startS: 0.7, durationS: 0.6 }),
      measureLoudness(res.path, { startS: 2.7, durationS: 0.6 }),
      measureLoudness(clips[2]!.path, { startS: 0.3, durationS: 1 }),
      measureLoudness(res.path, { startS: 4.8, durationS: 1 }),
    ]);
    expect(mid.meanVolumeDb).toBeGreaterThan(plainMid.meanVolumeDb + 1);
    expect(edge.meanVolumeDb).toBeCloseTo(plainEdge.meanVolumeDb, 0);
  });

  it('mixes the whole timeline when a copied scene\'s audio cannot fill its slot', async () => {
    // Scene 1's audio stops after 1 s of its 2 s: its frames cannot be copied into the slot.
    const video = `testsrc2=s=${W}x${H}:r=25`;
    const short = await fixtureClip(tmp.file('short-audio.mp4'), { video, audio: 'sine=f=440:r=48000:d=1', durationS: 2 });
    const full = await fixtureClip(tmp.file('full-audio.mp4'), { video, audio: 'sine=f=660:r=48000', durationS: 2 });
    const res = await renderTimeline({
      clips: [{ path: short, durationS: 2 }, { path: full, durationS: 2 }],
      tracks: [{ path: music, volumeDb: -6, offsetS: 2.5 }],
      width: W, height: H, outPath: tmp.file('short-audio-mix.mp4'),
    });
    expect(res.strategy).toBe('copy-video');
    expect(res.audioEncodedS).toBeCloseTo(4, 6);
    const probe = await expectTimeline(res.path, 4);
    expect(probe.durationS).toBeCloseTo(4, 3);
    // The missing second is silence, not the next scene's sound pulled forward.
    expect((await measureLoudness(res.path, { startS: 1.2, durationS: 0.6 })).maxVolumeDb).toBeLessThan(-60);
  });

  it('muting native audio changes the render', async () => {
    const allMuted = await renderTimeline({
      clips: clips.map((c) => ({ ...c, nativeAudio: { enabled: false } })),
      width: W, height: H, outPath: tmp.file('muted.mp4'),
    });
    await expectTimeline(allMuted.path, TOTAL);
    expect((await measureLoudness(allMuted.path)).meanVolumeDb).toBeLessThan(-80);

    // Only the middle clip muted: silent in its slot, sound around it.
    const oneMuted = await renderTimeline({
      clips: clips.map((c, i) => (i === 1 ? { ...c, nativeAudio: { enabled: false } } : c)),
      width: W, height: H, outPath: tmp.file('one-muted.mp4'),
    });
    const [first, middle, last] = await Promise.all([
      measureLoudness(oneMuted.path, { startS: 0.5, durationS: 1 }),
      measureLoudness(oneMuted.path, { startS: 2.5, durationS: 1.5 }),
      measureLoudness(oneMuted.path, { startS: 5, durationS: 1 }),
    ]);
    expect(first.meanVolumeDb).toBeGreaterThan(-30);
    expect(middle.meanVolumeDb).toBeLessThan(-80);
    expect(last.meanVolumeDb).toBeGreaterThan(-30);

    // Native volume in dB: -6 dB is about 6 LU quieter.
    const quieter = await renderTimeline({
      clips: clips.map((c) => ({ ...c, nativeAudio: { enabled: true, volumeDb: -6 } })),
      width: W, height: H, outPath: tmp.file('quieter.mp4'),
    });
    expect(baseLufs - (await measureLoudness(quieter.path)).integratedLufs).toBeCloseTo(6, 0);
  });

  it('places a track by offset, trim and fades', async () => {
    const mutedClips = clips.map((c) => ({ ...c, nativeAudio: { enabled: false } }));
    // 2 s of music (source 1..3 s) starting at 3 s, with 0.8 s fades: heard only in 3..5 s.
    const res = await renderTimeline({
      clips: mutedClips,
      tracks: [{ path: music, volumeDb: -6, offsetS: 3, trimStartS: 1, trimEndS: 3, fadeInS: 0.8, fadeOutS: 0.8 }],
      width: W, height: H, outPath: tmp.file('placed.mp4'),
    });
    await expectTimeline(res.path, TOTAL);
    const at = (startS: number, durationS: number) => measureLoudness(res.path, { startS, durationS });
    const [before, fadeIn, body, after] = await Promise.all([at(0.5, 2.3), at(3.0, 0.2), at(3.85, 0.3), at(5.2, 1.2)]);
    expect(before.meanVolumeDb).toBeLessThan(-80);
    expect(after.meanVolumeDb).toBeLessThan(-80);
    expect(body.meanVolumeDb).toBeGreaterThan(-30);
    expect(fadeIn.meanVolumeDb).toBeLessThan(body.meanVolumeDb - 6);

    // A track starting after the end is accepted and reported as not heard.
    const late = await renderTimeline({ clips, tracks: [{ path: music, offsetS: 60 }], width: W, height: H, outPath: tmp.file('late.mp4') });
    expect(late.skippedTracks).toEqual([0]);
  });

  it('rejects an invalid timeline before running ffmpeg', async () => {
    const base = { width: W, height: H, outPath: tmp.file('never.mp4') };
    await expect(renderTimeline({ ...base, clips: [] })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(renderTimeline({ ...base, clips: [{ path: clips[0]!.path, durationS: -1 }] })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(renderTimeline({ ...base, clips, tracks: [{ path: music, trimStartS: 3, trimEndS: 2 }] })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(renderTimeline({ ...base, clips, tracks: [{ path: clips[0]!.path.replace('.mp4', '.png').replace('c0', 's0') }] })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
