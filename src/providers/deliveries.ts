/**
 * What a delivered result must be before it is conformed and charged. Conforming can make almost
 * anything fit (a short clip holds its last frame, any shape is cropped to cover), so a clip far
 * from what was asked, or an "image" that is really something else ffmpeg can read, would be
 * accepted and charged without these checks.
 */
import type { MediaProbe } from '../media/index.js';
import { sniffFile } from '../net/sniff.js';
import type { ProviderClient } from './http.js';

/** How much shorter than the scene a delivery may be (container and frame rounding). */
export const SHORT_TOLERANCE_S = 0.3;
/** How far the delivered shape may be from the scene's before cropping would lose the picture. */
const ASPECT_TOLERANCE = 1.25;

/** Throws `bad_clip` (not charged, retryable) for a clip too short or of the wrong shape. */
export function acceptClip(client: ProviderClient, delivered: MediaProbe, want: { durationS: number; width: number; height: number }): void {
  const refuse = (why: string) => client.fail(`${client.provider} delivered ${why}; it was not accepted`, { transient: false, retryable: true, code: 'bad_clip' });
  if (delivered.durationS < want.durationS - SHORT_TOLERANCE_S) {
    throw refuse(`${delivered.durationS.toFixed(2)} s of video for a ${want.durationS} s scene`);
  }
  if (delivered.width > 0 && delivered.height > 0) {
    const got = delivered.width / delivered.height;
    const asked = want.width / want.height;
    if (Math.max(got / asked, asked / got) > ASPECT_TOLERANCE) {
      throw refuse(`a ${delivered.width}x${delivered.height} clip for a ${want.width}x${want.height} scene`);
    }
  }
}

/** Throws `provider_bad_result` unless the file's bytes are a picture (PNG, JPEG, WebP, GIF). */
export async function acceptImage(client: ProviderClient, file: string): Promise<void> {
  const type = await sniffFile(file);
  if (!type?.families.includes('image')) {
    throw client.fail(`${client.provider} delivered ${type ? `${type.mime}, not an image` : 'bytes that are not an image'}`, { transient: false, retryable: true, code: 'provider_bad_result' });
  }
}
