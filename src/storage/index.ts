export { Storage, FileMissingError, isValidKey, MAX_URL_TTL_S, type LocalFile, type SignedUrlCheck, type StorageOptions, type StoredFile } from './base.js';
export { FileStorage } from './storage.js';
export { S3Storage } from './s3.js';
export { createStorage, openStorage } from './open.js';
export { loadSigningSecret, purposeKey, SECRET_FILE } from './secret.js';
