export { Storage, FileMissingError, type LocalFile } from './base.js';
export { FileStorage } from './storage.js';
export { createStorage } from './open.js';
export { StorageUnavailableError } from './unavailable.js';
export { loadSigningSecret, purposeKey, SECRET_FILE } from './secret.js';
