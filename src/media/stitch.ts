/**
 * Stitching: clips concatenated in order, native audio and attached tracks mixed, one H.264 + AAC MP4.
 */
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ffmpegCapabilities, runFfmpeg, type RunOptions } from './binaries.js';
import { MediaError } from './errors.js';
import { joinAudioByCopy } from './audio-copy.js';
import { mixInPieces, unchangedSlots } from './audio-pieces.js';
import { withTempDir, writeAtomically } from './files.js';
import { AUDIO_SAMPLE_RATE, CLIP_FPS } from './local-video.js';
import { aacEncoderArgs, buildGraph, heardSpan, timelineSlots, type Slot } from './mix-graph.js';
import { probeClip, probeMedia, type MediaProbe } from './probe.js';

export { aacEncoderArgs } from './mix-graph.js';

export interface NativeAudio {
  enabled: boolean;
  /** Gain in dB applied to the clip's own audio (0 = unchanged). */
  volumeDb?: number;
}

export interface TimelineClip {
  path: string;
  /** The clip's slot on the timeline: the clip is trimmed or padded (last frame held) to it. */
  durationS: number;
  /** Default: enabled at 0 dB. A disabled (muted) clip contributes silence. */
  nativeAudio?: NativeAudio;
  /** The clip's probe (`probeClip`) when it is already known; used if the file's size matches. */
  probe?: MediaProbe;
}

export interface TimelineTrack {
  /** An audio (or video-with-audio) file: music, voice, sfx. */
  path: string;
  volumeDb?: number;
  /** Where the track starts on the timeline, seconds. */
  offsetS?: number;
  /** Part of the source to use: [trimStartS, trimEndS). */
  trimStartS?: number;
  trimEndS?: number;
  fadeInS?: number;
  /** Fade out at the end of the part that is heard (the track's end or the render's end). */
  fadeOutS?: number;
}

export interface RenderTimelineRequest {
  clips: TimelineClip[];
  tracks?: TimelineTrack[];
  width: number;
  height: number;
  outPath: string;
  fps?: number;
  /**
   * auto: when every clip is H.264 at the output size and rate with one decoder configuration and
   * fills its slot exactly, the video is joined by stream copy (concat demuxer) and only the audio
   * is mixed and encoded; otherwise everything is re-encoded. reencode: always re-encode.
   */
  strategy?: 'auto' | 'reencode';
  /** x264 preset for re-encoding (default veryfast). */
  preset?: string;
  crf?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Progress 0..1 as ffmpeg reports output time. */
  onProgress?: (fraction: number) => void;
}

export interface RenderTimelineResult {
  path: string;
  /** Sum of the clips' durations: the timeline length. */
  durationS: number;
  /** copy: video and audio joined by stream copy (nothing to mix); copy-video: the video joined by
   *  stream copy, the audio mixed and encoded (where it changes, see audioEncodedS); reencode: both encoded. */
  strategy: 'copy' | 'copy-video' | 'reencode';
  /** Probe of the written file. */
  probe: MediaProbe;
  /** Indexes of tracks that start at or after the end of the timeline (not heard). */
  skippedTracks: number[];
  /** Seconds of the timeline whose audio was mixed and encoded; the rest is the clips' own AAC
   *  frames, copied (0 for `copy`; less than the timeline when tracks play under some scenes only). */
  audioEncodedS: number;
  elapsedMs: number;
}

const PROBE_CONCURRENCY = 4;

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function finiteOr(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value)) throw new MediaError('invalid_input', `${what} must be a finite number`);
  return value;
}

function validate(req: RenderTimelineRequest): void {
  if (!req.clips.length) throw new MediaError('invalid_input', 'a timeline needs at least one clip');
  req.clips.forEach((c, i) => {
    if (!(c.durationS > 0) || !Number.isFinite(c.durationS)) throw new MediaError('invalid_input', `clip ${i}: durationS must be > 0`);
    finiteOr(c.nativeAudio?.volumeDb, 0, `clip ${i} native volumeDb`);
  });
  for (const [k, v] of [['width', req.width], ['height', req.height]] as const) {
    if (!Number.isInteger(v) || v < 16 || v > 4096 || v % 2) throw new MediaError('invalid_input', `${k} must be an even integer in 16..4096`);
  }
  (req.tracks ?? []).forEach((t, i) => {
    for (const k of ['offsetS', 'trimStartS', 'fadeInS', 'fadeOutS'] as const) {
      if (finiteOr(t[k], 0, `track ${i} ${k}`) < 0) throw new MediaError('invalid_input', `track ${i}: ${k} must be >= 0`);
    }
    finiteOr(t.volumeDb, 0, `track ${i} volumeDb`);
    if (t.trimEndS !== undefined && !(finiteOr(t.trimEndS, 0, `track ${i} trimEndS`) > (t.trimStartS ?? 0))) {
      throw new MediaError('invalid_input', `track ${i}: trimEndS must be after trimStartS`);
    }
  });
}

/** Stitch clips in order and mix their native audio with attached tracks into one H.264 + AAC MP4. */
export async function renderTimeline(req: RenderTimelineRequest): Promise<RenderTimelineResult> {
  validate(req);
  const started = performance.now();
  const fps = req.fps ?? CLIP_FPS;
  const run: RunOptions = { signal: req.signal, timeoutMs: req.timeoutMs ?? 30 * 60_000 };
  const tracks = req.tracks ?? [];
  const totalS = req.clips.reduce((s, c) => s + c.durationS, 0);

  // With decoder-configuration hashes (for the stream-copy decision). A probe stored when the
  // clip was generated saves an ffprobe per clip (each costs about 2x a bare concat's CPU).
  const clipProbes = await mapLimit(req.clips, PROBE_CONCURRENCY, async (c) =>
    (c.probe && (await stat(c.path).then((s) => s.size === c.probe!.sizeBytes, () => false)) ? c.probe : probeClip(c.path, run)),
  );
  clipProbes.forEach((p, i) => {
    if (!p.hasVideo) throw new MediaError('invalid_input', `clip ${i} (${req.clips[i]!.path}) has no video stream`);
  });
  const trackProbes = await mapLimit(tracks, PROBE_CONCURRENCY, (t) => probeMedia(t.path, run));
  trackProbes.forEach((p, i) => {
    if (!p.hasAudio) throw new MediaError('invalid_input', `track ${i} (${tracks[i]!.path}) has no audio stream`);
  });

  const progress = req.onProgress ? progressParser(totalS, req.onProgress) : undefined;
  const runWithProgress: RunOptions = { ...run, onStderr: progress };
  const slots = timelineSlots(req.clips, fps);
  const copyVideo = (req.strategy ?? 'auto') === 'auto' && videoCopyCompatible(req, clipProbes, slots, fps);

  const skippedTracks = tracks.flatMap((t, j) => (heardSpan(t, trackProbes[j]!, totalS) ? [] : [j]));
  let encodedS = totalS;
  await withTempDir(async (tmp) => {
    await writeAtomically(req.outPath, async (tmpOut) => {
      const inputs: string[] = [];
      let videoOut: string[];
      if (copyVideo) {
        // The clips' H.264 streams are joined untouched (concat demuxer, stream copy).
        const list = path.join(tmp, 'concat.txt');
        const listText = concatList(req.clips.map((c) => c.path), {
          durationsS: slots.map((sl) => sl.frames / fps),
          // Only the video stream: a file's other streams (AAC priming) would shift its video.
          exactStreamId: clipProbes[0]!.videoStreamId!,
        });
        await writeFile(list, listText, 'utf8');
        inputs.push('-f', 'concat', '-safe', '0', '-i', list);
        videoOut = ['-map', '0:v:0', '-c:v', 'copy'];
        // Where a slot's audio is its clip's own, unchanged, its AAC frames are joined untouched
        // too; only the other slots are mixed and encoded (audio-pieces.ts).
        const unchanged = unchangedSlots(req, clipProbes, trackProbes, slots);
        let audio: string | null = null;
        if (unchanged.every(Boolean)) {
          audio = await joinAudioByCopy(req.clips.map((c) => c.path), slots, AUDIO_SAMPLE_RATE, tmp, run);
          if (audio) encodedS = 0;
        } else {
          const pieces = await mixInPieces(req, clipProbes, trackProbes, slots, await ffmpegCapabilities(), tmp, run);
          if (pieces) ({ path: audio, encodedS } = pieces);
        }
        if (audio) {
          await runFfmpeg(
            ['-loglevel', 'error', ...inputs, '-i', audio, ...videoOut,
              '-map', '1:a:0', '-c:a', 'copy', '-bsf:a', 'aac_adtstoasc', '-movflags', '+faststart', tmpOut],
            run,
          );
          return;
        }
      } else {
        videoOut = [
          '-map', '[vout]',
          '-c:v', 'libx264', '-preset', req.preset ?? 'veryfast', '-crf', String(req.crf ?? 21),
          '-pix_fmt', 'yuv420p', '-r', String(fps), '-g', String(Math.round(fps * 2)),
        ];
      }
      // Only the audio is decoded, mixed and encoded (and the video, unless copied).
      const caps = await ffmpegCapabilities();
      const graph = buildGraph(req, clipProbes, trackProbes, slots, totalS, copyVideo, caps);
      encodedS = totalS;
      const script = path.join(tmp, 'graph.txt');
      await writeFile(script, graph.filter, 'utf8');
      for (const input of graph.inputs) inputs.push(...(input.readS !== undefined ? ['-t', input.readS.toFixed(3)] : []), '-i', input.path);
      await runFfmpeg(
        ['-loglevel', 'error', '-progress', 'pipe:2', '-nostats', ...inputs,
          '-filter_complex_script', script,
          ...videoOut,
          '-map', '[aout]', ...aacEncoderArgs(caps), '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '2',
          '-movflags', '+faststart', tmpOut],
        runWithProgress,
      );
    });
  });
  req.onProgress?.(1);
  const probe = await probeMedia(req.outPath, run);
  return {
    path: req.outPath,
    durationS: totalS,
    strategy: !copyVideo ? 'reencode' : encodedS === 0 ? 'copy' : 'copy-video',
    audioEncodedS: encodedS,
    probe,
    skippedTracks,
    elapsedMs: performance.now() - started,
  };
}

/**
 * An ffconcat list; optional per-file durations (no gap or overlap between files) and a single
 * stream selected by its container id.
 */
export function concatList(paths: string[], opts: { durationsS?: number[]; exactStreamId?: number } = {}): string {
  const quote = (p: string) => `'${p.replace(/'/g, `'\\''`)}'`;
  const durationsS = opts.durationsS;
  return (
    'ffconcat version 1.0\n' +
    (opts.exactStreamId !== undefined ? `stream\nexact_stream_id ${opts.exactStreamId}\n` : '') +
    paths
      .map((p, i) => `file ${quote(path.resolve(p))}\n${durationsS ? `duration ${durationsS[i]!.toFixed(6)}\n` : ''}`)
      .join('')
  );
}

function progressParser(totalS: number, onProgress: (f: number) => void): (chunk: string) => void {
  let buffered = '';
  return (chunk) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^out_time_(?:us|ms)=(\d+)/.exec(line.trim());
      if (m) onProgress(Math.min(0.99, Number(m[1]) / 1e6 / totalS));
    }
  };
}

/**
 * Whether the clips' video can be joined by stream copy: H.264 yuv420p at the output size and
 * rate, one decoder configuration (SPS/PPS) for all, and each clip exactly fills its slot.
 */
function videoCopyCompatible(req: RenderTimelineRequest, probes: MediaProbe[], slots: Slot[], fps: number): boolean {
  const ok = probes.every(
    (p, i) =>
      p.videoCodec === 'h264' &&
      p.pixelFormat === 'yuv420p' &&
      p.width === req.width &&
      p.height === req.height &&
      p.fps !== null && Math.abs(p.fps - fps) < 0.01 &&
      p.videoProfile === probes[0]!.videoProfile &&
      p.videoStreamId !== null && p.videoStreamId === probes[0]!.videoStreamId &&
      p.videoDurationS !== null &&
      Math.abs(p.videoDurationS * fps - slots[i]!.frames) < 0.5,
  );
  // One decoder configuration (SPS/PPS) for all, or the joined stream would not decode.
  return ok && probes[0]!.videoExtradataHash !== null && probes.every((p) => p.videoExtradataHash === probes[0]!.videoExtradataHash);
}

export interface Loudness {
  /** EBU R128 integrated loudness (LUFS); -70 for silence (gated). */
  integratedLufs: number;
  /** volumedetect mean volume (dBFS); -Infinity for digital silence. */
  meanVolumeDb: number;
  maxVolumeDb: number;
}

/** Loudness of a file's first audio stream, optionally over a window [startS, startS + durationS). */
export async function measureLoudness(
  filePath: string,
  opts: { startS?: number; durationS?: number; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<Loudness> {
  const window = [
    ...(opts.startS !== undefined ? ['-ss', opts.startS.toFixed(3)] : []),
    ...(opts.durationS !== undefined ? ['-t', opts.durationS.toFixed(3)] : []),
  ];
  const { stderr } = await runFfmpeg(
    ['-nostats', ...window, '-i', filePath, '-map', '0:a:0', '-af', 'volumedetect,ebur128=framelog=verbose', '-f', 'null', '-'],
    { signal: opts.signal, timeoutMs: opts.timeoutMs ?? 5 * 60_000 },
  );
  const parseDb = (re: RegExp): number => {
    const matches = [...stderr.matchAll(re)];
    const last = matches.at(-1)?.[1];
    if (last === undefined) return Number.NaN;
    return /inf/i.test(last) ? (last.startsWith('-') ? -Infinity : Infinity) : Number(last);
  };
  const integratedLufs = parseDb(/\bI:\s+(-?[\d.]+|-?inf)\s+LUFS/g);
  const meanVolumeDb = parseDb(/mean_volume:\s+(-?[\d.]+|-?inf)\s+dB/g);
  const maxVolumeDb = parseDb(/max_volume:\s+(-?[\d.]+|-?inf)\s+dB/g);
  if (Number.isNaN(integratedLufs) && Number.isNaN(meanVolumeDb)) {
    throw new MediaError('ffmpeg_failed', `no loudness reported for ${filePath}`, { stderrTail: stderr.slice(-2000) });
  }
  return { integratedLufs, meanVolumeDb: Number.isNaN(meanVolumeDb) ? -Infinity : meanVolumeDb, maxVolumeDb };
}
