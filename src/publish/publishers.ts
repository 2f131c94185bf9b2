import path from 'node:path';
import { localPublisher } from './local.js';
import { tiktokPublisher, type TikTokOptions } from './tiktok.js';
import type { Platform, Publisher } from './types.js';
import { youtubePublisher, type YouTubeOptions } from './youtube.js';

export interface PublishersConfig {
  dataDir: string;
  youtube?: Partial<YouTubeOptions>;
  tiktok?: Partial<TikTokOptions>;
}

export type Publishers = Record<Platform, Publisher>;

export function createPublishers(config: PublishersConfig): Publishers {
  return {
    youtube: youtubePublisher(config.youtube),
    tiktok: tiktokPublisher(config.tiktok),
    local: localPublisher({ dataDir: config.dataDir }),
  };
}

/**
 * LAVENDLY_DATA_DIR, LAVENDLY_YOUTUBE_API_URL, LAVENDLY_TIKTOK_API_URL (for staging or mocks), and
 * LAVENDLY_YOUTUBE_TOKEN_URL: the token endpoint channels connected through OAuth renew at.
 */
export function publishersConfigFromEnv(env: NodeJS.ProcessEnv): PublishersConfig {
  return {
    dataDir: path.resolve(env.LAVENDLY_DATA_DIR ?? './data'),
    youtube: {
      ...(env.LAVENDLY_YOUTUBE_API_URL ? { apiBaseUrl: env.LAVENDLY_YOUTUBE_API_URL } : {}),
      ...(env.LAVENDLY_YOUTUBE_TOKEN_URL ? { tokenUrl: env.LAVENDLY_YOUTUBE_TOKEN_URL } : {}),
    },
    tiktok: env.LAVENDLY_TIKTOK_API_URL ? { apiBaseUrl: env.LAVENDLY_TIKTOK_API_URL } : {},
  };
}
