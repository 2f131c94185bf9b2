import { describe, expect, it } from 'vitest';
import { mixedRuns, unchangedSlots } from '../../src/media/audio-pieces.js';
import type { MediaProbe } from '../../src/media/probe.js';
import type { RenderTimelineRequest } from '../../src/media/stitch.js';

const aacClip = { hasAudio: true, audioCodec: 'aac', audioSampleRate: 48000, audioChannels: 2 } as MediaProbe;
const track10s = { hasAudio: true, audioDurationS: 10, durationS: 10 } as MediaProbe;
// Four 2 s slots: 0..2, 2..4, 4..6, 6..8 s (96,000 samples each).
const slots = Array.from({ length: 4 }, () => ({ frames: 50, samples: 96_000 }));

function request(over: Partial<RenderTimelineRequest> = {}): RenderTimelineRequest {
  return { clips: slots.map((_, i) => ({ path: `c${i}.mp4`, durationS: 2 })), width: 320, height: 180, outPath: 'out.mp4', ...over };
}

describe('which slots keep their clips\' audio', () => {
  it('mixes only the slots a track is heard in; a track ending on a scene cut leaves the next scene alone', () => {
    // Heard 2.5..4 s: slot 1 only (it ends exactly where slot 2 starts).
    const req = request({ tracks: [{ path: 'voice.m4a', offsetS: 2.5, trimEndS: 1.5 }] });
    expect(unchangedSlots(req, slots.map(() => aacClip), [track10s], slots)).toEqual([true, false, true, true]);
    // Heard 3..7 s: slots 1, 2 and 3, one run.
    const long = request({ tracks: [{ path: 'voice.m4a', offsetS: 3, trimEndS: 4 }] });
    const unchanged = unchangedSlots(long, slots.map(() => aacClip), [track10s], slots);
    expect(unchanged).toEqual([true, false, false, false]);
    expect(mixedRuns(unchanged)).toEqual([[1, 3]]);
  });

  it('mixes a slot whose native audio is muted, turned up or down, or not 48 kHz stereo AAC', () => {
    const clips = request().clips;
    clips[0] = { ...clips[0]!, nativeAudio: { enabled: false } };
    clips[2] = { ...clips[2]!, nativeAudio: { enabled: true, volumeDb: -3 } };
    const probes = [aacClip, aacClip, aacClip, { ...aacClip, audioSampleRate: 44100 }];
    const unchanged = unchangedSlots(request({ clips }), probes, [], slots);
    expect(unchanged).toEqual([false, true, false, false]);
    expect(mixedRuns(unchanged)).toEqual([[0, 0], [2, 3]]);
  });

  it('ignores a track that starts after the end (not heard)', () => {
    const req = request({ tracks: [{ path: 'late.m4a', offsetS: 8 }] });
    expect(unchangedSlots(req, slots.map(() => aacClip), [track10s], slots)).toEqual([true, true, true, true]);
    expect(mixedRuns([true, true, true, true])).toEqual([]);
  });
});
