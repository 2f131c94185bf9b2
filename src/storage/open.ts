import type { StorageConfig } from '../config.js';
import type { Storage } from './base.js';
import { S3Storage } from './s3.js';
import { FileStorage } from './storage.js';

/** The configured driver: the data dir unless `storage` names an S3 bucket. */
export function createStorage(options: { dataDir: string; publicBaseUrl: string; secret: Buffer; storage?: StorageConfig; defaultUrlTtlS?: number }): Storage {
  const { storage, ...common } = options;
  return storage?.driver === 's3' ? new S3Storage({ ...common, s3: storage }) : new FileStorage(common);
}
