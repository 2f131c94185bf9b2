import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLocalProviders,
  parseDetections,
  qualityCheck,
  rerollHint,
  scoreFailures,
  SignalRubric,
  type VisionReviewProvider,
} from '../../src/media/index.js';
import { fixtureClip, makeTempDir } from './helpers.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let good: string;
let still: string;
const rubric = new SignalRubric();
const TONE = 'sine=f=440:r=48000';

beforeAll(async () => {
  tmp = await makeTempDir('rubric');
  const { textToImage, imageToVideo } = createLocalProviders();
  still = (await textToImage.generateImage({ prompt: 'a good scene', width: 320, height: 180, outPath: tmp.file('good.png') })).path;
  good = (await imageToVideo.generateClip({ imagePath: still, prompt: 'a good scene', durationS: 3, width: 320, height: 180, outPath: tmp.file('good.mp4') })).path;
});
afterAll(() => tmp.cleanup());

describe('signal rubric', () => {
  it('passes a good generated clip', async () => {
    const res = await rubric.check({ videoPath: good, expectedDurationS: 3, expectAudio: true, expectedWidth: 320, expectedHeight: 180 });
    expect(res).toMatchObject({ pass: true, score: 1, failures: [], reroll_hint: null });
    expect(res.probe).toMatchObject({ hasVideo: true, hasAudio: true });
    expect(await rubric.review({ videoPath: good, expectedDurationS: 3, expectAudio: true })).toEqual({ failures: [] });
  });

  it('catches a black clip', async () => {
    const clip = await fixtureClip(tmp.file('black.mp4'), { video: 'color=c=black:s=320x180:r=25', audio: TONE, durationS: 3 });
    const res = await rubric.check({ videoPath: clip, expectedDurationS: 3, expectAudio: true });
    expect(res.pass).toBe(false);
    const black = res.failures.find((f) => f.check === 'black_frames');
    expect(black).toMatchObject({ at_s: 0 });
    expect(black!.duration_s).toBeGreaterThan(2.5);
    expect(res.score).toBeLessThan(0.5);
    expect(res.failures.map((f) => f.check)).toEqual(['black_frames']);
    expect(res.reroll_hint).toMatch(/lit|black/i);
  });

  it('catches black in the middle of an otherwise good clip, and says when', async () => {
    const clip = await fixtureClip(tmp.file('black-mid.mp4'), {
      video: "testsrc2=s=320x180:r=25,drawbox=enable='between(t,1,2.2)':x=0:y=0:w=iw:h=ih:c=black:t=fill",
      audio: TONE,
      durationS: 3,
    });
    const res = await rubric.check({ videoPath: clip, expectedDurationS: 3, expectAudio: true });
    expect(res.failures.map((f) => f.check)).toEqual(['black_frames']);
    expect(res.failures[0]!.at_s).toBeCloseTo(1, 1);
    expect(res.failures[0]!.duration_s).toBeCloseTo(1.2, 1);
    expect(res.score).toBeGreaterThan(0.3);
    expect(res.score).toBeLessThan(1);
  });

  it('catches a frozen clip (a still image)', async () => {
    const clip = await fixtureClip(tmp.file('frozen.mp4'), {
      videoInput: ['-loop', '1', '-framerate', '25', '-i', still],
      audio: TONE,
      durationS: 3,
    });
    const res = await rubric.check({ videoPath: clip, expectedDurationS: 3, expectAudio: true });
    expect(res.pass).toBe(false);
    const frozen = res.failures.filter((f) => f.check === 'frozen_frames');
    expect(frozen).toHaveLength(1);
    expect(frozen[0]!.at_s).toBeLessThan(0.5);
    expect(res.failures.some((f) => f.check === 'black_frames')).toBe(false);
    expect(res.reroll_hint).toMatch(/motion/i);
  });

  it('catches a silent clip when audio is expected, not when it is not', async () => {
    const clip = await fixtureClip(tmp.file('silent.mp4'), { audio: 'anullsrc=r=48000:cl=stereo', durationS: 3 });
    const res = await rubric.check({ videoPath: clip, expectedDurationS: 3, expectAudio: true });
    expect(res.failures.map((f) => f.check)).toEqual(['silence']);
    expect(res.failures[0]).toMatchObject({ at_s: 0 });
    expect(res.failures[0]!.duration_s).toBeGreaterThan(2.5);
    expect(res.failures[0]!.duration_s).toBeLessThanOrEqual(3.05);
    expect(res.reroll_hint).toMatch(/sound/i);

    expect((await rubric.check({ videoPath: clip, expectedDurationS: 3, expectAudio: false })).pass).toBe(true);
  });

  it('catches a missing audio stream', async () => {
    const clip = await fixtureClip(tmp.file('no-audio.mp4'), { durationS: 2 });
    const res = await rubric.check({ videoPath: clip, expectedDurationS: 2, expectAudio: true });
    expect(res.failures.map((f) => f.check)).toEqual(['missing_audio']);
  });

  it('catches a wrong-length clip (beyond one frame + 0.1 s), tolerates a frame', async () => {
    const clip = await fixtureClip(tmp.file('long.mp4'), { audio: TONE, durationS: 4 });
    const res = await rubric.check({ videoPath: clip, expectedDurationS: 3, expectAudio: true });
    expect(res.failures.map((f) => f.check)).toEqual(['wrong_duration']);
    expect(res.failures[0]!.message).toMatch(/4 s, expected 3 s/);
    expect(res.reroll_hint).toMatch(/3 s/);

    expect((await rubric.check({ videoPath: clip, expectedDurationS: 3.9, expectAudio: true })).pass).toBe(true);
  });

  it('catches a wrong resolution and a file that is not media', async () => {
    const res = await rubric.check({ videoPath: good, expectedDurationS: 3, expectAudio: true, expectedWidth: 640, expectedHeight: 360 });
    expect(res.failures.map((f) => f.check)).toEqual(['wrong_resolution']);

    await writeFile(tmp.file('junk.mp4'), 'not a video');
    const junk = await rubric.check({ videoPath: tmp.file('junk.mp4'), expectedDurationS: 3, expectAudio: true });
    expect(junk).toMatchObject({ pass: false, score: 0, probe: null });
    expect(junk.failures[0]!.check).toBe('missing_video');
    // The failure reaches the customer (the scene's quality check): the file, not the server's directory.
    expect(junk.failures[0]!.message).toMatch(/^not readable media: cannot probe …\/.*junk\.mp4/);
    expect(junk.failures[0]!.message).not.toContain(tmp.dir);
  });

  it('merges other review providers into the verdict', async () => {
    const vision: VisionReviewProvider = {
      name: 'fake-vision',
      review: async () => ({ failures: [{ check: 'off_prompt', message: 'no lighthouse visible', at_s: 1 }] }),
    };
    const res = await qualityCheck({ videoPath: good, expectedDurationS: 3, expectAudio: true }, { extraProviders: [vision] });
    expect(res.pass).toBe(false);
    expect(res.failures).toEqual([{ check: 'off_prompt', message: 'no lighthouse visible', at_s: 1 }]);
    expect(res.reroll_hint).toContain('no lighthouse visible');
  });
});

describe('rubric parsing and scoring', () => {
  it('closes stretches still open at the end of the media', () => {
    const stderr = [
      '[blackdetect @ 0x1] black_start:0 black_end:1.2 black_duration:1.2',
      '[freezedetect @ 0x2] lavfi.freezedetect.freeze_start: 0.5',
      '[freezedetect @ 0x2] lavfi.freezedetect.freeze_duration: 1',
      '[freezedetect @ 0x2] lavfi.freezedetect.freeze_end: 1.5',
      '[freezedetect @ 0x2] lavfi.freezedetect.freeze_start: 3',
      '[silencedetect @ 0x3] silence_start: 2.5',
    ].join('\n');
    expect(parseDetections(stderr, 4)).toEqual({
      black: [{ startS: 0, endS: 1.2 }],
      frozen: [{ startS: 0.5, endS: 1.5 }, { startS: 3, endS: 4 }],
      silent: [{ startS: 2.5, endS: 4 }],
    });
  });

  it('scores by severity and coverage', () => {
    expect(scoreFailures([], 5)).toBe(1);
    expect(scoreFailures([{ check: 'missing_video', message: '' }], 5)).toBe(0);
    const small = scoreFailures([{ check: 'frozen_frames', message: '', at_s: 0, duration_s: 0.5 }], 5);
    const large = scoreFailures([{ check: 'frozen_frames', message: '', at_s: 0, duration_s: 4.5 }], 5);
    expect(small).toBeGreaterThan(large);
    expect(rerollHint([])).toBeNull();
  });
});
