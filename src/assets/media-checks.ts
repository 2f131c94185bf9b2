/**
 * Checks on what a received file is, beyond its type and byte size: an image's declared size and
 * frame count (read from its header before ffprobe decodes anything), and an audio file's sample
 * rate and length. Each refusal says what the limit is.
 */
import { DomainError } from '../errors.js';
import { orientationSwaps, readImageHeader, type ImageHeader } from '../media/image-header.js';
import type { AssetKind } from './config.js';

/**
 * The most pixels an image may declare: 40 megapixels, which admits 8K stills (7680x4320, 33 MP).
 * A picture at more than 8 bits per channel counts twice, as it decodes to twice the memory: the
 * worst admitted image decodes to about 320 MB (16-bit RGBA at 20 MP) instead of the 2 GB a
 * 16000x16000 one did.
 */
export const MAX_IMAGE_PIXELS = 40_000_000;

/** Sample rates an audio file may have: below 8 kHz is no real recording, above 384 kHz none of ours. */
export const AUDIO_SAMPLE_RATES = { min: 8_000, max: 384_000 } as const;
/** The shortest audio accepted: a track of a few samples (a lying header) can never be placed on a timeline. */
export const MIN_AUDIO_S = 0.1;

const FORMATS = {
  image: 'PNG, JPEG, GIF, WebP still images',
  video: 'MP4, MOV, WebM, MKV video',
  audio: 'MP3, AAC, M4A, WAV, OGG, FLAC audio',
} as const;

/** The accepted formats of one family, for messages that list them. */
export function acceptedFormats(family: keyof typeof FORMATS): string {
  return FORMATS[family];
}

const mp = (pixels: number) => `${Math.round(pixels / 100_000) / 10} MP`;

/**
 * Refuses an image that is animated or declares too many pixels, from its header alone, and gives
 * the header. An image whose header cannot be read at all is left to the probe (which calls it
 * damaged or truncated).
 */
export async function checkImageHeader(kind: AssetKind, path: string, mime: string, maxPixels = MAX_IMAGE_PIXELS): Promise<ImageHeader | null> {
  const header = await readImageHeader(path);
  if (!header) return null;
  if (header.animated) {
    // The pipeline animates a still; a second frame would only be ignored (or, before, multiplied).
    throw new DomainError('unsupported_media_type', `Animated images are not supported (this ${mime} has more than one frame); upload a still image.`, {
      kind, detected_type: mime, reason: 'animated_image',
    });
  }
  const deep = (header.bitDepth ?? 8) > 8;
  const pixels = header.width * header.height;
  if (pixels * (deep ? 2 : 1) > maxPixels) {
    const depth = deep ? ` at ${header.bitDepth} bits per channel` : '';
    throw new DomainError(
      'asset_too_large',
      `An image may be at most ${mp(maxPixels)} (${mp(maxPixels / 2)} at more than 8 bits per channel); this one is ${header.width}x${header.height}${depth} (${mp(pixels)}).`,
      { kind, limit: maxPixels, reason: 'too_many_pixels', width: header.width, height: header.height, bit_depth: header.bitDepth },
    );
  }
  return header;
}

/** An image's size as shown: a JPEG whose EXIF orientation turns it a quarter turn swaps the probed width and height. */
export function shownSize(probe: { width: number | null; height: number | null }, header: ImageHeader | null): { width: number | null; height: number | null } {
  return orientationSwaps(header?.orientation ?? null) ? { width: probe.height, height: probe.width } : { width: probe.width, height: probe.height };
}

/** Refuses audio with an implausible sample rate or too short to use. */
export function checkAudio(kind: AssetKind, mime: string, probe: { sampleRate?: number | null; durationS: number | null }): void {
  const rate = probe.sampleRate;
  if (typeof rate === 'number' && (rate < AUDIO_SAMPLE_RATES.min || rate > AUDIO_SAMPLE_RATES.max)) {
    throw new DomainError(
      'unsupported_media_type',
      `The audio's sample rate of ${rate} Hz is not supported (accepted: ${AUDIO_SAMPLE_RATES.min / 1000} to ${AUDIO_SAMPLE_RATES.max / 1000} kHz).`,
      { kind, detected_type: mime, reason: 'unsupported_sample_rate', sample_rate: rate },
    );
  }
  if (probe.durationS !== null && probe.durationS < MIN_AUDIO_S) {
    throw new DomainError(
      'unsupported_media_type',
      `The audio lasts ${Math.round(probe.durationS * 1000)} ms; it must last at least ${MIN_AUDIO_S * 1000} ms to be used.`,
      { kind, detected_type: mime, reason: 'too_short', duration_s: probe.durationS },
    );
  }
}
