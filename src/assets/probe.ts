/**
 * What assets need to know about a media file: streams, duration, picture size. Backed by ffprobe
 * (FFPROBE_PATH, else @ffprobe-installer/ffprobe). Kept small and injectable (AssetsConfig.probe);
 * it can delegate to src/media's probe once that lands.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';

export interface AssetProbe {
  durationS: number | null;
  /** A real video stream (cover art in audio files does not count). */
  hasVideo: boolean;
  hasAudio: boolean;
  width: number | null;
  height: number | null;
}

export type ProbeFn = (path: string) => Promise<AssetProbe>;

const require = createRequire(import.meta.url);

function ffprobeBin(): string {
  return process.env.FFPROBE_PATH?.trim() || (require('@ffprobe-installer/ffprobe') as { path: string }).path;
}

interface Stream {
  codec_type?: string;
  width?: number;
  height?: number;
  duration?: string;
  disposition?: { attached_pic?: number };
}

export class ProbeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProbeError';
  }
}

export const ffprobe: ProbeFn = (path) =>
  new Promise((resolve, reject) => {
    execFile(
      ffprobeBin(),
      ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '--', path],
      { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new ProbeError(`ffprobe could not read the file: ${String(stderr).trim().split('\n').slice(-2).join(' ') || err.message}`, { cause: err }));
        try {
          const out = JSON.parse(stdout) as { streams?: Stream[]; format?: { duration?: string } };
          const streams = out.streams ?? [];
          const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
          const picture = video ?? streams.find((s) => s.codec_type === 'video');
          const audio = streams.find((s) => s.codec_type === 'audio');
          if (!picture && !audio) return reject(new ProbeError('The file has no audio or video stream.'));
          const duration = Number(out.format?.duration ?? video?.duration ?? audio?.duration);
          resolve({
            durationS: Number.isFinite(duration) ? duration : null,
            hasVideo: Boolean(video),
            hasAudio: Boolean(audio),
            width: picture?.width ?? null,
            height: picture?.height ?? null,
          });
        } catch (parseErr) {
          reject(new ProbeError('ffprobe gave unreadable output.', { cause: parseErr }));
        }
      },
    );
  });
