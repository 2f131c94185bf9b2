/**
 * The SDK's hand-written core, shipped with every generated SDK: the sdk emitter copies
 * each file of this directory verbatim (index.ts as `sdk-runtime.gen.ts`, X.ts as
 * `sdk-runtime-X.gen.ts`).
 * It knows nothing about any particular API: the generated client hands it a table of operation
 * descriptors, and it does the HTTP (fetch, no dependencies), retries, idempotency keys, timeouts,
 * typed errors, pagination, job polling and webhook verification.
 *
 * Only Node built-ins and sibling files may be imported: these files ship inside the SDK.
 */
export * from './descriptors.js';
export * from './errors.js';
export * from './client.js';
export { retryAfterMs, splitParams } from './wire.js';
export * from './pages.js';
export * from './webhooks.js';
