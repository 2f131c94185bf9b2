/**
 * Media library: real media over ffmpeg / ffprobe. No HTTP, no database.
 */
import { LocalImageProvider, type LocalImageOptions } from './local-image.js';
import { LocalVideoProvider, type LocalVideoOptions } from './local-video.js';
import {
  FailingProvider,
  type FailureConfig,
  type ImageToVideoProvider,
  type TextToImageProvider,
  type VisionReviewProvider,
} from './providers.js';
import { SignalRubric, type SignalRubricOptions } from './rubric.js';

export * from './errors.js';
export { ffmpegPath, ffprobePath, runFfmpeg, runFfprobe, ffmpegCapabilities } from './binaries.js';
export * from './providers.js';
export { LocalImageProvider, promptColors, wrapText } from './local-image.js';
export type { LocalImageOptions } from './local-image.js';
export { LocalVideoProvider, localClipArgs } from './local-video.js';
export type { LocalVideoOptions } from './local-video.js';
export { probeClip, probeMedia } from './probe.js';
export type { MediaProbe } from './probe.js';
export { extractFrame } from './frame.js';
export { conformClip, conformImage } from './conform.js';
export { withTempDir } from './files.js';
export { renderTimeline, measureLoudness, concatList, aacEncoderArgs } from './stitch.js';
export type { RenderTimelineRequest, RenderTimelineResult, TimelineClip, TimelineTrack } from './stitch.js';
export {
  SignalRubric,
  qualityCheck,
  parseDetections,
  scoreFailures,
  rerollHint,
} from './rubric.js';
export type { RubricResult, SignalRubricOptions } from './rubric.js';

export interface LocalProvidersOptions {
  image?: LocalImageOptions;
  video?: LocalVideoOptions;
  review?: SignalRubricOptions;
  /** Explicitly configured failures (tests, demos): wraps the provider in a FailingProvider. */
  failures?: { image?: FailureConfig; video?: FailureConfig; review?: FailureConfig };
}

export interface MediaProviders {
  textToImage: TextToImageProvider;
  /** The default video model's provider. */
  imageToVideo: ImageToVideoProvider;
  /** Every wired video model's provider by model id (`local`, `runway:gen4_turbo`), when several are. */
  videoByModel?: Map<string, ImageToVideoProvider>;
  vision: VisionReviewProvider;
  /** The signal rubric (full verdicts: score, reroll hint). */
  rubric: SignalRubric;
}

/** The built-in `local` providers, optionally wrapped to fail as configured. */
export function createLocalProviders(options: LocalProvidersOptions = {}): MediaProviders {
  const image = new LocalImageProvider(options.image);
  const video = new LocalVideoProvider(options.video);
  const rubric = new SignalRubric(options.review);
  const f = options.failures ?? {};
  return {
    textToImage: f.image ? new FailingProvider(image, f.image) : image,
    imageToVideo: f.video ? new FailingProvider(video, f.video) : video,
    vision: f.review ? new FailingProvider(rubric, f.review) : rubric,
    rubric,
  };
}
