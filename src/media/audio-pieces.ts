/**
 * Mixing only where the mix changes the sound. Encoding the mixed audio is most of a mixing
 * render's CPU (ffmpeg's AAC encoder runs at ~100x realtime here), yet a track often plays under
 * a few scenes only: a voice-over on two scenes, a sound effect on one.
 *
 * A slot keeps its clip's own AAC frames, copied untouched, when the clip's audio is heard as it
 * is (enabled at 0 dB; AAC, 48 kHz, stereo) and no track plays during it. Each run of consecutive
 * other slots is mixed and encoded as one piece, and copied clips and encoded pieces are joined
 * frame by frame on the slot grid (`pickFrames`), as a render with nothing to mix joins its
 * clips. Every join therefore falls on a scene cut, where copied clips are already joined, and,
 * as there, a scene's sound (a piece's tracks included) may sit up to half an AAC frame (10.7 ms)
 * early or late; the error never accumulates.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runFfmpeg, type FfmpegCapabilities, type RunOptions } from './binaries.js';
import { extractArgs, readEncoded, readExtracted, writeJoined, type AudioSource } from './audio-copy.js';
import { AUDIO_SAMPLE_RATE } from './local-video.js';
import { aacEncoderArgs, buildGraph, heardSpan, type Slot } from './mix-graph.js';
import type { MediaProbe } from './probe.js';
import type { RenderTimelineRequest } from './stitch.js';

/** Whether each slot's audio is its clip's own AAC audio, unchanged (see the module comment). */
export function unchangedSlots(req: RenderTimelineRequest, clipProbes: MediaProbe[], trackProbes: MediaProbe[], slots: Slot[]): boolean[] {
  const totalS = req.clips.reduce((s, c) => s + c.durationS, 0);
  const spans = (req.tracks ?? []).flatMap((t, j) => heardSpan(t, trackProbes[j]!, totalS) ?? []);
  let startSample = 0;
  return req.clips.map((c, i) => {
    const startS = startSample / AUDIO_SAMPLE_RATE;
    startSample += slots[i]!.samples;
    const endS = startSample / AUDIO_SAMPLE_RATE;
    const native = c.nativeAudio ?? { enabled: true };
    const p = clipProbes[i]!;
    return native.enabled && (native.volumeDb ?? 0) === 0 &&
      p.hasAudio && p.audioCodec === 'aac' && p.audioSampleRate === AUDIO_SAMPLE_RATE && p.audioChannels === 2 &&
      !spans.some((s) => s.startS < endS && s.endS > startS);
  });
}

/** Runs of consecutive slots that are mixed: [first, last] slot indexes. */
export function mixedRuns(unchanged: boolean[]): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  unchanged.forEach((u, i) => {
    if (u) return;
    const last = runs.at(-1);
    if (last && last[1] === i - 1) last[1] = i;
    else runs.push([i, i]);
  });
  return runs;
}

export interface PiecewiseAudio {
  /** ADTS file of the whole timeline's audio. */
  path: string;
  /** Seconds of the timeline whose audio was mixed and encoded (the rest is copied). */
  encodedS: number;
}

/**
 * The timeline's audio with only the changed slots encoded, as one ADTS file in `dir`. Null when
 * every slot is changed (one encode of the whole timeline is then simpler and no slower) or when
 * the frames cannot be joined (AAC configurations differ, a clip's audio is too short).
 */
export async function mixInPieces(
  req: RenderTimelineRequest, clipProbes: MediaProbe[], trackProbes: MediaProbe[], slots: Slot[],
  caps: FfmpegCapabilities, dir: string, run: RunOptions,
): Promise<PiecewiseAudio | null> {
  const unchanged = unchangedSlots(req, clipProbes, trackProbes, slots);
  if (!unchanged.some(Boolean)) return null;
  const runs = mixedRuns(unchanged);
  const starts: number[] = [];
  req.clips.reduce((s, c, i) => ((starts[i] = s), s + c.durationS), 0);
  const tracks = req.tracks ?? [];

  const inputs: string[] = [];
  const outputs: string[] = [];
  const filters: string[] = [];
  let nextInput = 0;
  unchanged.forEach((u, i) => {
    if (!u) return;
    inputs.push('-i', req.clips[i]!.path);
    outputs.push(...extractArgs(nextInput++, dir, `a${i}`));
  });
  let encodedS = 0;
  runs.forEach(([first, last], n) => {
    const clips = req.clips.slice(first, last + 1);
    const pieceStartS = starts[first]!;
    const pieceS = clips.reduce((s, c) => s + c.durationS, 0);
    encodedS += pieceS;
    // The tracks heard in this piece, placed on its own clock. A track is never split between
    // pieces: every slot it is heard in is mixed, so its slots are one run.
    const heard = tracks.flatMap((t, j) => {
      const span = heardSpan(t, trackProbes[j]!, pieceStartS + pieceS);
      return span && span.endS > pieceStartS ? [{ track: { ...t, offsetS: Math.max(0, (t.offsetS ?? 0) - pieceStartS) }, probe: trackProbes[j]! }] : [];
    });
    const graph = buildGraph(
      { ...req, clips, tracks: heard.map((h) => h.track) },
      clipProbes.slice(first, last + 1), heard.map((h) => h.probe), slots.slice(first, last + 1), pieceS, true, caps,
      { firstInput: nextInput, label: `p${n}` },
    );
    for (const input of graph.inputs) {
      inputs.push(...(input.readS !== undefined ? ['-t', input.readS.toFixed(3)] : []), '-i', input.path);
      nextInput++;
    }
    filters.push(graph.filter);
    outputs.push('-map', graph.audioOut, ...aacEncoderArgs(caps), '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '2', '-f', 'adts', path.join(dir, `piece${n}.aac`));
  });
  const args = ['-loglevel', 'error', ...inputs];
  if (filters.length) {
    const script = path.join(dir, 'pieces-graph.txt');
    await writeFile(script, filters.join(';\n'), 'utf8');
    args.push('-filter_complex_script', script);
  }
  await runFfmpeg([...args, ...outputs], run);

  // The sources in timeline order, each with its share of the slot grid.
  const sources: AudioSource[] = [];
  const sourceSlots: Array<{ samples: number }> = [];
  let i = 0;
  let n = 0;
  while (i < req.clips.length) {
    const source = unchanged[i]
      ? await readExtracted(dir, `a${i}`, AUDIO_SAMPLE_RATE)
      : await readEncoded(path.join(dir, `piece${n}.aac`));
    if (!source) return null;
    sources.push(source);
    const end = unchanged[i] ? i : runs[n++]![1];
    sourceSlots.push({ samples: slots.slice(i, end + 1).reduce((s, sl) => s + sl.samples, 0) });
    i = end + 1;
  }
  const out = path.join(dir, 'audio.aac');
  return (await writeJoined(sources, sourceSlots, out)) ? { path: out, encodedS } : null;
}
