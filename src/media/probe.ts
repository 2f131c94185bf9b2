import { stat } from 'node:fs/promises';
import { runFfprobe, type RunOptions } from './binaries.js';
import { MediaError } from './errors.js';

export interface MediaProbe {
  /** Container duration in seconds (0 for a still image). */
  durationS: number;
  hasVideo: boolean;
  hasAudio: boolean;
  /**
   * Of the first video stream as it is shown, after its rotation (ffmpeg turns a rotated video
   * upright when decoding, so a phone's portrait video stored as 1920x1080 is 1080x1920 here);
   * 0 when there is none.
   */
  width: number;
  height: number;
  videoCodec: string | null;
  audioCodec: string | null;
  /** Frames per second of the first video stream, when known. */
  fps: number | null;
  pixelFormat: string | null;
  videoProfile: string | null;
  /** Container-level id of the first video stream (e.g. the MP4 track id), when known. */
  videoStreamId: number | null;
  /** CRC32 of the video decoder configuration (SPS/PPS), only when probed with `hashes`. */
  videoExtradataHash: string | null;
  videoDurationS: number | null;
  audioDurationS: number | null;
  audioSampleRate: number | null;
  audioChannels: number | null;
  formatName: string;
  sizeBytes: number;
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  sample_rate?: string;
  channels?: number;
  pix_fmt?: string;
  profile?: string;
  id?: string;
  extradata_hash?: string;
  disposition?: { attached_pic?: number };
  tags?: { rotate?: string };
  side_data_list?: { rotation?: number }[];
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { duration?: string; format_name?: string; size?: string };
}

function rate(value: string | undefined): number | null {
  if (!value) return null;
  const [num, den] = value.split('/').map(Number);
  if (!num || !den) return null;
  return num / den;
}

/** Whether a stream's display matrix (or the older `rotate` tag) turns it a quarter turn. */
function quarterTurned(stream: FfprobeStream | undefined): boolean {
  const rotation = stream?.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ?? Number(stream?.tags?.rotate ?? 0);
  return Math.abs(Math.round(rotation / 90)) % 2 === 1;
}

function num(value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

export interface ProbeOptions extends RunOptions {
  /** Also hash the streams' decoder configuration (videoExtradataHash). */
  hashes?: boolean;
}

/** Probe a media file with ffprobe. Throws MediaError('probe_failed') if it is not readable media. */
export async function probeMedia(path: string, opts: ProbeOptions = {}): Promise<MediaProbe> {
  const { hashes, ...run } = opts;
  try {
    await stat(path);
  } catch (err) {
    throw new MediaError('probe_failed', `no such file: ${path}`, { cause: err });
  }
  let out: FfprobeOutput;
  try {
    const { stdout } = await runFfprobe(
      ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...(hashes ? ['-show_data_hash', 'CRC32'] : []), path],
      { timeoutMs: 60_000, ...run },
    );
    out = JSON.parse(stdout.toString('utf8')) as FfprobeOutput;
  } catch (err) {
    if (err instanceof MediaError && (err.code === 'aborted' || err.code === 'binary_missing')) throw err;
    const tail = err instanceof MediaError ? err.stderrTail : undefined;
    throw new MediaError('probe_failed', `cannot probe ${path}${tail ? `: ${tail}` : ''}`, { cause: err, stderrTail: tail });
  }
  const streams = out.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = streams.find((s) => s.codec_type === 'audio');
  if (!video && !audio) throw new MediaError('probe_failed', `no audio or video stream in ${path}`);
  const videoDurationS = num(video?.duration);
  const audioDurationS = num(audio?.duration);
  const durationS = num(out.format?.duration) ?? Math.max(videoDurationS ?? 0, audioDurationS ?? 0);
  const [width, height] = [video?.width ?? 0, video?.height ?? 0];
  const turned = quarterTurned(video);
  return {
    durationS,
    hasVideo: Boolean(video),
    hasAudio: Boolean(audio),
    width: turned ? height : width,
    height: turned ? width : height,
    videoCodec: video?.codec_name ?? null,
    audioCodec: audio?.codec_name ?? null,
    fps: rate(video?.avg_frame_rate) ?? rate(video?.r_frame_rate),
    pixelFormat: video?.pix_fmt ?? null,
    videoProfile: video?.profile ?? null,
    videoExtradataHash: video?.extradata_hash ?? null,
    videoStreamId: video?.id !== undefined && Number.isFinite(Number(video.id)) ? Number(video.id) : null,
    videoDurationS,
    audioDurationS,
    audioSampleRate: num(audio?.sample_rate),
    audioChannels: audio?.channels ?? null,
    formatName: out.format?.format_name ?? '',
    sizeBytes: num(out.format?.size) ?? 0,
  };
}

/**
 * A clip's probe as stitching needs it: with the decoder-configuration hash (whether clips can be
 * joined by stream copy); an ffprobe too old for -show_data_hash gets a plain probe.
 */
export function probeClip(path: string, run: RunOptions = {}): Promise<MediaProbe> {
  return probeMedia(path, { ...run, hashes: true }).catch(() => probeMedia(path, run));
}
