export type Platform = 'youtube' | 'tiktok' | 'local';
export const PLATFORMS: readonly Platform[] = ['youtube', 'tiktok', 'local'];

interface PublishVideo {
  /** The rendered MP4 on local disk. */
  path: string;
  /** Where the render is served, when it is; informational only. */
  url: string | null;
  durationS: number | null;
}

export interface PublishChannel {
  id: string;
  name: string;
  platform: Platform;
  /** Decrypted only for the duration of a publish; never logged or returned. */
  credentials: Record<string, unknown>;
}

export interface PublishRequest {
  video: PublishVideo;
  title: string | null;
  caption: string | null;
  channel: PublishChannel;
  /** Our id for the post (pub_...), used for local file names and logs. */
  publicationId?: string;
  /** Called with the channel's new credentials when the adapter renewed its access token. */
  onCredentialsRefreshed?: (credentials: Record<string, unknown>) => Promise<void>;
}

export interface PublishResult {
  /** The platform's id for the post. */
  externalId: string;
  /** Where the post can be seen. */
  url: string;
}

/** One per platform: builds the platform's upload and post requests from our publication. */
export interface Publisher {
  readonly platform: Platform;
  publish(request: PublishRequest): Promise<PublishResult>;
}

/**
 * A publish that did not happen. `retryable` is true only when the platform cannot have created
 * the post yet (the failure came before any video bytes were accepted), so trying again cannot
 * post twice. Messages never include credentials.
 */
export class PublishError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean = false,
    readonly httpStatus: number | null = null,
  ) {
    super(message);
    this.name = 'PublishError';
  }
}
