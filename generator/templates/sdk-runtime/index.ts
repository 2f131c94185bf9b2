/**
 * The SDK's hand-written core, shipped with every generated SDK: the sdk emitter copies
 * each file of this directory verbatim (index.ts as `sdk-runtime.gen.ts`, X.ts as
 * `sdk-runtime-X.gen.ts`).
 * It knows nothing about any particular API: the generated client hands it a table of operation
 * descriptors, and it does the HTTP (fetch, no dependencies), retries, idempotency keys, timeouts,
 * typed errors, pagination, job polling, file downloads and webhook verification.
 *
 * Only web-standard globals (fetch, Web Crypto, TextEncoder) and sibling files may be used: these
 * files ship inside the SDK, which runs on Node 20+, browsers, Deno, Bun and workers.
 * `verifyWebhook` is exported by the generated client, typed with the spec's webhook events.
 */
export * from './descriptors.js';
export * from './errors.js';
export type { BasicCredentials, Credential, SecurityScheme } from './auth.js';
// Named: client.js also exports downloadContextOf, which only the download functions may use.
export { type AnyClient, ApiClient, type ApiResponse, type ClientDefaults, type ClientOptions, type RequestOptions, type WaitOptions } from './client.js';
export { splitParams } from './wire.js';
export { retryAfterMs } from './retry-after.js';
export * from './pages.js';
export type { UploadBody, UploadSlotSpec } from './uploads.js';
export { download, type Download, type DownloadOptions } from './downloads.js';
export { downloadFile, type DownloadedFile, type DownloadFileOptions } from './download-file.js';
export { signWebhook, WebhookVerificationError, type VerifyWebhookOptions, type WebhookHeaders } from './webhooks.js';
