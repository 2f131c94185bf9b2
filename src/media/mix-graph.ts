/**
 * The timeline's grid (each clip's slot in video frames and audio samples) and the ffmpeg filter
 * graph that mixes clips' native audio with attached tracks (and, when the video is re-encoded,
 * conforms and joins the video).
 */
import type { FfmpegCapabilities } from './binaries.js';
import { AUDIO_SAMPLE_RATE, CLIP_FPS } from './local-video.js';
import type { MediaProbe } from './probe.js';
import type { RenderTimelineRequest, TimelineClip, TimelineTrack } from './stitch.js';

export interface Slot {
  frames: number;
  samples: number;
}

/** Each clip's slot on a shared frame / sample grid, so rounding never accumulates. */
export function timelineSlots(clips: TimelineClip[], fps: number): Slot[] {
  let startS = 0;
  return clips.map((clip) => {
    const endS = startS + clip.durationS;
    const slot = {
      frames: Math.max(1, Math.round(endS * fps) - Math.round(startS * fps)),
      samples: Math.round(endS * AUDIO_SAMPLE_RATE) - Math.round(startS * AUDIO_SAMPLE_RATE),
    };
    startS = endS;
    return slot;
  });
}

/** Where a track is heard on a timeline of `totalS` seconds; null when it starts at or after the end. */
export function heardSpan(track: TimelineTrack, probe: MediaProbe, totalS: number): { startS: number; endS: number } | null {
  const sourceS = probe.audioDurationS ?? probe.durationS;
  const offsetS = track.offsetS ?? 0;
  const trimStart = track.trimStartS ?? 0;
  const trimEnd = Math.min(track.trimEndS ?? sourceS, sourceS);
  const heardS = Math.min(trimEnd - trimStart, totalS - offsetS);
  return heardS <= 0.001 ? null : { startS: offsetS, endS: offsetS + heardS };
}

/**
 * The AAC encode of the mixed audio is most of a mixing render's CPU (about four fifths of its
 * instructions with the video copied). At 160 kb/s, ffmpeg's encoder spends a third of its work
 * on three tools that buy nothing audible at that rate: the per-band search for mid/side stereo
 * (each band quantized both ways, again on every pass of the rate loop), intensity stereo and
 * noise substitution (both low-bitrate tools that trade accuracy for bits). Left/right coding at
 * 80 kb/s per channel is transparent for voice and music. Temporal noise shaping is off too: it
 * costs another 6% of the encoder's instructions, and on a click train at 160 kb/s the coding
 * error in the 10 ms before each click (pre-echo, what it exists to shape) was no higher without
 * it (-34.9 dB against -33.9 dB with it, relative to the signal there); the encoder still switches
 * to short blocks on attacks. Options this ffmpeg does not know are left out.
 */
export function aacEncoderArgs(caps: Pick<FfmpegCapabilities, 'aacOptions'>): string[] {
  const off = ['aac_ms', 'aac_is', 'aac_pns', 'aac_tns'].filter((o) => caps.aacOptions.has(o)).flatMap((o) => [`-${o}`, '0']);
  return ['-c:a', 'aac', '-b:a', '160k', ...off];
}

export interface Graph {
  filter: string;
  /** Files to open with -i, in order, from `firstInput` on; `readS` limits how much of a long
   * source is read. */
  inputs: { path: string; readS?: number }[];
  skippedTracks: number[];
  /** The mixed audio's output label. */
  audioOut: string;
}

const AFORMAT = `aformat=sample_fmts=fltp:sample_rates=${AUDIO_SAMPLE_RATE}:channel_layouts=stereo`;

/** A resampler only for a source at another rate (aformat converts format and layout). */
function resampleTo(probe: MediaProbe): string {
  return probe.audioSampleRate === AUDIO_SAMPLE_RATE ? '' : `aresample=${AUDIO_SAMPLE_RATE},`;
}

function db(value: number): string {
  return `volume=${value.toFixed(2)}dB`;
}

export interface GraphOptions {
  /** Index of the first input the graph adds (default: 1 after the concat input when copying video, else 0). */
  firstInput?: number;
  /** Prefix of the graph's labels, so several graphs can share one ffmpeg run. */
  label?: string;
}

/** The -filter_complex graph: [vout] (unless the video is copied) and [aout]. */
export function buildGraph(
  req: RenderTimelineRequest,
  clipProbes: MediaProbe[],
  trackProbes: MediaProbe[],
  slots: Slot[],
  totalS: number,
  copyVideo: boolean,
  caps: FfmpegCapabilities,
  opts: GraphOptions = {},
): Graph {
  const { width: w, height: h } = req;
  const fps = req.fps ?? CLIP_FPS;
  const sr = AUDIO_SAMPLE_RATE;
  const p = opts.label ?? '';
  const chains: string[] = [];
  const inputs: Graph['inputs'] = [];
  const inputOffset = opts.firstInput ?? (copyVideo ? 1 : 0);
  const addInput = (file: string, readS?: number) => inputOffset + inputs.push({ path: file, readS }) - 1;
  const vLabels: string[] = [];
  const aLabels: string[] = [];

  req.clips.forEach((clip, i) => {
    const slot = slots[i]!;
    const native = clip.nativeAudio ?? { enabled: true };
    const useNative = native.enabled && clipProbes[i]!.hasAudio;
    const needInput = !copyVideo || useNative;
    const input = needInput ? addInput(clip.path) : -1;
    if (!copyVideo) {
      chains.push(
        `[${input}:v:0]setpts=PTS-STARTPTS,fps=${fps},` +
          `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p,` +
          `tpad=stop_mode=clone:stop_duration=${(clip.durationS + 1).toFixed(3)},trim=end_frame=${slot.frames},setpts=PTS-STARTPTS[v${i}]`,
      );
      vLabels.push(`[v${i}]`);
    }
    if (useNative) {
      chains.push(
        `[${input}:a:0]${resampleTo(clipProbes[i]!)}${AFORMAT},asetpts=PTS-STARTPTS,${db(native.volumeDb ?? 0)},apad,atrim=end_sample=${slot.samples}[${p}a${i}]`,
      );
    } else {
      // Muted, or a clip without sound: silence for the slot.
      chains.push(`anullsrc=r=${sr}:cl=stereo,${AFORMAT},atrim=end_sample=${slot.samples}[${p}a${i}]`);
    }
    aLabels.push(`[${p}a${i}]`);
  });
  const n = req.clips.length;
  if (copyVideo) {
    chains.push(`${aLabels.join('')}concat=n=${n}:v=0:a=1[${p}acat]`);
  } else {
    chains.push(`${vLabels.map((v, i) => v + aLabels[i]).join('')}concat=n=${n}:v=1:a=1[vout][${p}acat]`);
  }

  const mixInputs = [`[${p}acat]`];
  const skippedTracks: number[] = [];
  const totalSamples = slots.reduce((s, sl) => s + sl.samples, 0);
  (req.tracks ?? []).forEach((t, j) => {
    const span = heardSpan(t, trackProbes[j]!, totalS);
    if (!span) {
      skippedTracks.push(j);
      return;
    }
    const heardS = span.endS - span.startS;
    const trimStart = t.trimStartS ?? 0;
    // Only the part that is heard is read (a long source is not decoded to its end).
    const input = addInput(t.path, trimStart + heardS + 1);
    const parts = [
      `[${input}:a:0]${resampleTo(trackProbes[j]!)}${AFORMAT}`,
      `atrim=start=${trimStart.toFixed(4)}:end=${(trimStart + heardS).toFixed(4)}`,
      'asetpts=PTS-STARTPTS',
    ];
    const fadeIn = Math.min(t.fadeInS ?? 0, heardS);
    if (fadeIn > 0) parts.push(`afade=t=in:st=0:d=${fadeIn.toFixed(4)}`);
    const fadeOut = Math.min(t.fadeOutS ?? 0, heardS);
    if (fadeOut > 0) parts.push(`afade=t=out:st=${(heardS - fadeOut).toFixed(4)}:d=${fadeOut.toFixed(4)}`);
    parts.push(db(t.volumeDb ?? 0));
    const delayMs = Math.round(span.startS * 1000);
    if (delayMs > 0) parts.push(`adelay=${delayMs}|${delayMs}`);
    parts.push('apad', `atrim=end_sample=${totalSamples}[${p}t${j}]`);
    chains.push(parts.join(','));
    mixInputs.push(`[${p}t${j}]`);
  });

  // The mix leaves 16-bit resolution on the way to the encoder: ffmpeg's AAC encoder spends about
  // twice the CPU on float input carrying sub-LSB residue (resampling, gains, fades) as on the same
  // sound at 16 bits, and nothing below 16 bits survives a 160k AAC encode anyway.
  const toEncoder = 'aformat=sample_fmts=s16,' + AFORMAT;
  const audioOut = `[${p}aout]`;
  if (mixInputs.length === 1) {
    chains.push(`[${p}acat]${toEncoder}${audioOut}`);
  } else {
    // Every input lasts the whole timeline, so amix's scale is a constant 1/m: undo it when the
    // ffmpeg build lacks `normalize=0`. Either way the mix is a plain sum.
    const m = mixInputs.length;
    chains.push(
      `${mixInputs.join('')}amix=inputs=${m}:duration=first:dropout_transition=0` +
        (caps.amixNormalize ? ':normalize=0,' : `,volume=${m},`) + `${toEncoder}${audioOut}`,
    );
  }
  return { filter: chains.join(';\n'), inputs, skippedTracks, audioOut };
}
