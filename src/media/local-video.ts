import { createHash } from 'node:crypto';
import { runFfmpeg } from './binaries.js';
import { MediaError } from './errors.js';
import { writeAtomically } from './files.js';
import { readImageHeader, uprightFilters } from './image-header.js';
import type { GenerateClipRequest, GeneratedClip, ImageToVideoProvider } from './providers.js';

export const CLIP_FPS = 25;
export const AUDIO_SAMPLE_RATE = 48_000;

export interface LocalVideoOptions {
  /** x264 preset; default veryfast. */
  preset?: string;
  crf?: number;
  timeoutMs?: number;
}

/** Base pitch (Hz) of a clip's native tone, derived from its prompt: 150..450 Hz. */
export function promptPitchHz(prompt: string): number {
  const h = createHash('sha256').update(`pitch:${prompt}`, 'utf8').digest();
  return Math.round(150 + (h.readUInt16BE(0) / 65535) * 300);
}

/** Frame count of a clip: the duration rounded to whole frames (at least one). */
export function frameCount(durationS: number, fps = CLIP_FPS): number {
  return Math.max(1, Math.round(durationS * fps));
}

/** Scale to cover and centre-crop: the frame is filled, nothing is letterboxed or squeezed. */
export const coverFilter = (w: number, h: number) => `scale=${w}:${h}:force_original_aspect_ratio=increase,crop=${w}:${h},setsar=1`;

export interface ClipCommand {
  args: string[];
  frames: number;
}

/**
 * The exact ffmpeg arguments the local provider runs (exported for the bench, which times the
 * bare command against the provider).
 */
export function localClipArgs(
  req: Pick<GenerateClipRequest, 'imagePath' | 'prompt' | 'durationS' | 'width' | 'height'>,
  outPath: string,
  opts: Pick<LocalVideoOptions, 'preset' | 'crf'> & { orientation?: number | null } = {},
): ClipCommand {
  const { imagePath, prompt, durationS: d, width: w, height: h } = req;
  const fps = CLIP_FPS;
  const frames = frameCount(d, fps);
  const f = promptPitchHz(prompt);
  // Slow zoom and pan from the still. Zoom and horizontal pan share a period a quarter-turn apart,
  // so when one reaches a turning point the other moves fastest: the picture never stands still
  // (no false "frozen" in the rubric), whatever the length.
  const tt = `(on/${fps})`;
  const video = [
    // Only the first frame: zoompan makes `frames` frames of every input frame, so an animated
    // image that got this far would multiply into hours of video.
    '[0:v]trim=end_frame=1',
    ...uprightFilters(opts.orientation ?? null),
    // Fill the frame without distortion, like a delivered clip (conform.ts): whatever the image's
    // aspect, it is scaled to cover and centre-cropped.
    coverFilter(w, h),
    `zoompan=z='1.16+0.05*sin(2*PI*${tt}/8)'` +
      `:x='(iw-iw/zoom)*(0.5+0.45*cos(2*PI*${tt}/8))'` +
      `:y='(ih-ih/zoom)*(0.5+0.4*sin(2*PI*${tt}/12))'` +
      `:d=${frames}:s=${w}x${h}:fps=${fps}`,
    'format=yuv420p[v]',
  ].join(',');
  // A soft two-note chord with a slow tremolo and 50 ms edges (no clicks); stereo, 48 kHz.
  const env = `min(1,min(t/0.05,(${d}-t)/0.05))`;
  const voice = (phase: number, trem: number) =>
    `(0.16*sin(2*PI*${f}*t+${phase})+0.08*sin(2*PI*${(f * 1.5).toFixed(2)}*t))*(0.8+0.2*sin(2*PI*0.5*t+${trem}))*${env}`;
  // Generated a little long and cut to the exact sample count (aevalsrc stops on whole frames).
  const samples = Math.round(d * AUDIO_SAMPLE_RATE);
  const audio =
    `aevalsrc='${voice(0, 0)}|${voice(0.3, 1)}':s=${AUDIO_SAMPLE_RATE}:d=${(d + 0.1).toFixed(3)}:c=stereo,` +
    `atrim=end_sample=${samples}`;
  const args = [
    '-loglevel', 'error',
    '-i', imagePath,
    '-f', 'lavfi', '-i', audio,
    '-filter_complex', video,
    '-map', '[v]', '-map', '1:a',
    '-c:v', 'libx264', '-preset', opts.preset ?? 'veryfast', '-crf', String(opts.crf ?? 23),
    '-pix_fmt', 'yuv420p', '-r', String(fps), '-g', String(fps * 2),
    '-c:a', 'aac', '-b:a', '128k', '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '2',
    '-movflags', '+faststart',
    outPath,
  ];
  return { args, frames };
}

function validate(req: GenerateClipRequest): void {
  const { durationS, width, height } = req;
  if (!Number.isFinite(durationS) || durationS < 0.2 || durationS > 600) {
    throw new MediaError('invalid_input', `durationS must be within 0.2..600, got ${durationS}`);
  }
  for (const [k, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 16 || v > 4096 || v % 2 !== 0) {
      throw new MediaError('invalid_input', `${k} must be an even integer in 16..4096 (yuv420p), got ${v}`);
    }
  }
}

/** Built-in image-to-video: H.264 + AAC MP4 animated from the still, with a native audio tone. */
export class LocalVideoProvider implements ImageToVideoProvider {
  readonly name = 'local';
  constructor(private readonly opts: LocalVideoOptions = {}) {}

  async generateClip(req: GenerateClipRequest): Promise<GeneratedClip> {
    validate(req);
    const timeoutMs = this.opts.timeoutMs ?? Math.max(120_000, req.durationS * 20_000);
    const orientation = (await readImageHeader(req.imagePath).catch(() => null))?.orientation ?? null;
    await writeAtomically(req.outPath, async (tmpOut) => {
      await runFfmpeg(localClipArgs(req, tmpOut, { ...this.opts, orientation }).args, { signal: req.signal, timeoutMs });
    });
    return { path: req.outPath, durationS: req.durationS, width: req.width, height: req.height, hasAudio: true };
  }
}
