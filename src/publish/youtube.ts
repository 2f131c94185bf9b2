import { stat } from 'node:fs/promises';
import { describeFailure, fileBody, json, send, transient } from './http.js';
import { accessTokenFor } from './oauth.js';
import { clampBytes, clampChars } from './text.js';
import { PublishError, type PublishRequest, type PublishResult, type Publisher } from './types.js';

/** YouTube Data API v3 limits: title 100 characters, description 5000 bytes, neither may contain < or >. */
const YOUTUBE_TITLE_MAX = 100;
const YOUTUBE_DESCRIPTION_MAX_BYTES = 5000;

export interface YouTubeOptions {
  /** Where the Data API lives; tests point it at a local server. */
  apiBaseUrl: string;
  /** Google's OAuth token endpoint, for renewing access tokens from a refresh token. */
  tokenUrl: string;
  /** Where published videos are watched. */
  watchBaseUrl: string;
  /** `public` unless the channel's credentials say otherwise. */
  defaultPrivacy: 'public' | 'unlisted' | 'private';
  /** 22 = People & Blogs, YouTube's default category. */
  categoryId: string;
  timeoutMs: number;
  /** Uploads can be large: the byte transfer gets its own, longer budget. */
  uploadTimeoutMs: number;
}

const defaultYouTubeOptions: YouTubeOptions = {
  apiBaseUrl: 'https://www.googleapis.com',
  tokenUrl: 'https://oauth2.googleapis.com/token',
  watchBaseUrl: 'https://www.youtube.com/watch?v=',
  defaultPrivacy: 'public',
  categoryId: '22',
  timeoutMs: 30_000,
  uploadTimeoutMs: 30 * 60_000,
};

/** YouTube refuses angle brackets in titles and descriptions. */
function clean(text: string): string {
  return text.replace(/[<>]/g, '');
}

/** The `videos.insert` resource we send: the AI disclosure is set here, not by the caller. */
function youtubeMetadata(request: PublishRequest, options: YouTubeOptions): Record<string, unknown> {
  const creds = request.channel.credentials;
  const title = clampChars(clean(request.title || request.caption || 'Untitled video'), YOUTUBE_TITLE_MAX) || 'Untitled video';
  const description = clampBytes(clean(request.caption ?? ''), YOUTUBE_DESCRIPTION_MAX_BYTES);
  const privacy = typeof creds.privacy_status === 'string' ? creds.privacy_status : options.defaultPrivacy;
  return {
    snippet: { title, description, categoryId: typeof creds.category_id === 'string' ? creds.category_id : options.categoryId },
    status: {
      privacyStatus: privacy,
      selfDeclaredMadeForKids: false,
      // YouTube's altered-or-synthetic content disclosure: every Lavendly video is AI-generated.
      containsSyntheticMedia: true,
    },
  };
}


/**
 * Resumable upload: (1) POST the metadata to open an upload session, announcing the file's type
 * and length; YouTube answers the session URI in `Location`. (2) PUT the bytes to that URI; the
 * answer is the created video resource.
 */
export function youtubePublisher(opts: Partial<YouTubeOptions> = {}): Publisher {
  const options = { ...defaultYouTubeOptions, ...opts };
  return {
    platform: 'youtube',
    async publish(request: PublishRequest): Promise<PublishResult> {
      const token = await accessTokenFor(request, { platform: 'YouTube', tokenUrl: options.tokenUrl, clientIdField: 'client_id', timeoutMs: options.timeoutMs });
      const size = (await stat(request.video.path)).size;
      if (size === 0) throw new PublishError('The rendered video is empty; render it again.');
      const base = options.apiBaseUrl.replace(/\/$/, '');
      const init = await send('YouTube', 'upload session', `${base}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json; charset=UTF-8',
          'x-upload-content-type': 'video/mp4',
          'x-upload-content-length': String(size),
        },
        body: JSON.stringify(youtubeMetadata(request, options)),
        timeoutMs: options.timeoutMs,
        beforeUpload: true,
      });
      const location = init.headers.get('location');
      if (init.status !== 200 || !location) {
        throw new PublishError(describeFailure('YouTube', 'upload session', init), transient(init.status), init.status);
      }
      const sessionUrl = new URL(location, `${base}/`).toString();
      const upload = await send('YouTube', 'upload', sessionUrl, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'video/mp4', 'content-length': String(size) },
        ...fileBody(request.video.path, 0, Math.max(size - 1, 0)),
        timeoutMs: options.uploadTimeoutMs,
        beforeUpload: false,
      });
      if (upload.status !== 200 && upload.status !== 201) {
        throw new PublishError(describeFailure('YouTube', 'upload', upload), false, upload.status);
      }
      const video = json<{ id?: string }>('YouTube', 'upload', upload);
      if (!video.id) throw new PublishError('YouTube accepted the upload but returned no video id', false, upload.status);
      return { externalId: video.id, url: `${options.watchBaseUrl}${encodeURIComponent(video.id)}` };
    },
  };
}
