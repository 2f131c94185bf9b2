/**
 * Conform media delivered by a remote model to what the pipeline asked for. Hosted models answer
 * in their own sizes (1280x720), lengths (4/8/12 s, 5/10 s) and sometimes without sound; the rest
 * of the pipeline (review, renders) expects the scene's exact size, length and an audio track.
 *
 * The delivery is probed first: something that is not a video (an error page, a truncated file)
 * is refused with `invalid_input` before anything is accepted.
 */
import { runFfmpeg } from './binaries.js';
import { MediaError } from './errors.js';
import { secs, writeAtomically } from './files.js';
import { readImageHeader, uprightFilters } from './image-header.js';
import { AUDIO_SAMPLE_RATE, CLIP_FPS, coverFilter as cover } from './local-video.js';
import { probeMedia, type MediaProbe } from './probe.js';

export interface ConformClipRequest {
  inputPath: string;
  outPath: string;
  durationS: number;
  width: number;
  height: number;
  signal?: AbortSignal;
  /**
   * Called with the delivery's probe before anything is written (before a short clip is padded
   * by holding its last frame): throw to refuse it.
   */
  accept?: (delivered: MediaProbe) => void;
}

/**
 * ffprobe's last complaint, fit to show a client: without our temporary paths and the
 * demuxer's pointer addresses ("[mov,mp4,... @ 0x16b52240]"). The full text stays in the cause.
 */
function complaint(err: unknown): string {
  const tail = err instanceof MediaError ? (err.stderrTail ?? '') : '';
  const line = tail.split('\n')
    .map((l) => l.replace(/\[[^\]]*@ 0x[0-9a-f]+\]/gi, '').replace(/(?:\/[^\s:/]+)+\/?/g, '').replace(/^[\s:]+/, '').trim())
    .filter(Boolean)
    .pop();
  return line ? ` (${line.slice(0, 200)})` : '';
}

/**
 * H.264 + AAC at exactly `width`x`height` and `durationS`: a longer delivery is cut, a shorter one
 * holds its last frame; a silent delivery gets a silent track (the rubric will say so).
 */
export async function conformClip(req: ConformClipRequest): Promise<{ hadAudio: boolean; deliveredS: number }> {
  const probe = await probeMedia(req.inputPath, { signal: req.signal }).catch((err) => {
    throw new MediaError('invalid_input', `the delivered file is not a readable video${complaint(err)}`, { cause: err });
  });
  if (!probe.hasVideo || probe.durationS <= 0) throw new MediaError('invalid_input', 'the delivered file has no video');
  req.accept?.(probe);
  const d = secs(req.durationS);
  const video = `[0:v]${cover(req.width, req.height)},fps=${CLIP_FPS},tpad=stop_mode=clone:stop_duration=${d},trim=duration=${d},format=yuv420p[v]`;
  const audio = probe.hasAudio
    ? `[0:a]aresample=${AUDIO_SAMPLE_RATE},apad,atrim=duration=${d}[a]`
    : `anullsrc=r=${AUDIO_SAMPLE_RATE}:cl=stereo,atrim=duration=${d}[a]`;
  await writeAtomically(req.outPath, (tmp) =>
    runFfmpeg([
      '-loglevel', 'error', '-i', req.inputPath,
      '-filter_complex', `${video};${audio}`,
      '-map', '[v]', '-map', '[a]',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-r', String(CLIP_FPS),
      '-c:a', 'aac', '-b:a', '128k', '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '2',
      '-t', d, '-movflags', '+faststart', tmp,
    ], { signal: req.signal, timeoutMs: Math.max(120_000, req.durationS * 20_000) }),
  );
  return { hadAudio: probe.hasAudio, deliveredS: probe.durationS };
}

/** A still delivered by a remote model, probed and scaled/cropped to the scene's size as PNG. */
export async function conformImage(req: Omit<ConformClipRequest, 'durationS'>): Promise<void> {
  const probe = await probeMedia(req.inputPath, { signal: req.signal }).catch((err) => {
    throw new MediaError('invalid_input', `the delivered file is not a readable image${complaint(err)}`, { cause: err });
  });
  if (!probe.hasVideo || probe.width <= 0) throw new MediaError('invalid_input', 'the delivered file has no picture');
  const orientation = (await readImageHeader(req.inputPath).catch(() => null))?.orientation ?? null;
  const filters = [...uprightFilters(orientation), cover(req.width, req.height)].join(',');
  await writeAtomically(req.outPath, (tmp) =>
    // `-frames:v 1`: the first frame only, also of an animated delivery.
    runFfmpeg(['-loglevel', 'error', '-i', req.inputPath, '-vf', filters, '-frames:v', '1', '-f', 'image2', '-c:v', 'png', tmp], {
      signal: req.signal, timeoutMs: 60_000,
    }),
  );
}
