export { FileStorage, isValidKey, MAX_URL_TTL_S, type SignedUrlCheck, type StorageOptions } from './storage.js';
export { serveSignedFiles, parseRange, type ByteRange, type ServeOptions } from './serve.js';
export { loadSigningSecret, purposeKey, SECRET_FILE } from './secret.js';
