/**
 * What assets need to know about a media file: streams, duration, picture size. Backed by the
 * media library's ffprobe wrapper (src/media/probe.ts); injectable through AssetsConfig.probe.
 */
import { MediaError } from '../media/errors.js';
import { probeMedia } from '../media/probe.js';

export interface AssetProbe {
  /** The longest of the container's and the streams' durations; null when none is known. */
  durationS: number | null;
  /** A real video stream (cover art in audio files does not count). */
  hasVideo: boolean;
  hasAudio: boolean;
  width: number | null;
  height: number | null;
  /** Of the first audio stream, when known (a probe that does not say is not checked). */
  sampleRate?: number | null;
}

export type ProbeFn = (path: string) => Promise<AssetProbe>;

/** The file is not readable media (as opposed to the prober itself failing, which is ours). */
export class ProbeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProbeError';
  }
}

export const ffprobe: ProbeFn = async (path) => {
  try {
    const p = await probeMedia(path, { timeoutMs: 60_000 });
    // Take the longest duration anything reports, so a container header claiming less than the
    // streams hold cannot slip a long file under the limit.
    const known = [p.durationS, p.videoDurationS, p.audioDurationS].filter((d): d is number => typeof d === 'number' && Number.isFinite(d) && d > 0);
    return {
      durationS: known.length ? Math.max(...known) : null,
      hasVideo: p.hasVideo,
      hasAudio: p.hasAudio,
      width: p.width || null,
      height: p.height || null,
      sampleRate: p.audioSampleRate,
    };
  } catch (err) {
    if (err instanceof MediaError && err.code === 'probe_failed') throw new ProbeError(err.message, { cause: err });
    throw err;
  }
};
