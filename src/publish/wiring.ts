import { createPublishers, publishersConfigFromEnv } from './publishers.js';
import type { Storage } from '../storage/index.js';
import type { PublishOptions } from './service.js';

/**
 * How `serve` and `lavendly worker` publish: the platform adapters as the environment configures
 * them (LAVENDLY_YOUTUBE_API_URL, LAVENDLY_TIKTOK_API_URL), the `local` channel's folder and the
 * credentials key file under the configured data dir (the API seals credentials with the same).
 */
export function publishOptionsFor(config: { dataDir: string }, env: NodeJS.ProcessEnv = process.env, storage?: Storage): PublishOptions {
  return {
    storage,
    secrets: { dataDir: config.dataDir },
    publishers: createPublishers({ ...publishersConfigFromEnv(env), dataDir: config.dataDir }),
  };
}
