import { createPublishers, type PublishersConfig } from './publishers.js';
import type { Storage } from '../storage/index.js';
import type { PublishOptions } from './service.js';
import type { SecretsOptions } from './credentials.js';

/**
 * How `serve` and `lavendly worker` publish: the platform adapters as the environment configures
 * them (`config.publishers`), the `local` channel's folder and the
 * credentials key file under the configured data dir (the API seals credentials with the same).
 */
export function publishOptionsFor(
  config: { dataDir: string; publishers: PublishersConfig; credentialsSecret: string | null },
  storage?: Storage,
): PublishOptions {
  return {
    storage,
    secrets: secretsFor(config),
    publishers: createPublishers({ ...config.publishers, dataDir: config.dataDir }),
  };
}

/** Where channel credentials are sealed: the configured secret, else a key file in the data dir. */
export function secretsFor(config: { dataDir: string; credentialsSecret: string | null }): SecretsOptions {
  return { dataDir: config.dataDir, ...(config.credentialsSecret ? { secretKey: config.credentialsSecret } : {}) };
}
