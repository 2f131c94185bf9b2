/**
 * Webhook signatures (Standard Webhooks: https://www.standardwebhooks.com/): sign and verify with
 * Web Crypto (`crypto.subtle` HMAC-SHA256), so the same code runs on Node 20+, browsers, Deno,
 * Bun and workers. Web Crypto is asynchronous, hence both functions return promises.
 * Part of the SDK runtime (see index.ts): only web-standard globals and sibling files may be used.
 */
import { LavendlyError } from './errors.js';
import { parseJsonText } from './wire.js';

/**
 * A delivery whose headers, timestamp or signature do not check out (`webhook_verification_failed`),
 * or whose signed payload cannot be represented (`number_out_of_range`, `details.path`).
 */
export class WebhookVerificationError extends LavendlyError {
  override name = 'WebhookVerificationError';
  constructor(message: string, init: { code?: string; details?: Record<string, unknown> } = {}) {
    super(message, { code: init.code ?? 'webhook_verification_failed', details: init.details ?? {} });
  }
}

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** Largest distance between the delivery's timestamp and now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** "Now" for the timestamp check (default: the clock). */
  now?: Date | number;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v.join(' ') : v;
  }
  return undefined;
}

function base64Decode(text: string): Uint8Array<ArrayBuffer> {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new WebhookVerificationError('the webhook secret is not base64 (expected whsec_<base64>)');
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function base64Encode(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

// The key type is left to inference: it is a DOM type (CryptoKey) or Node's webcrypto.CryptoKey, by lib.
function hmacKey(secret: string | Uint8Array, usage: 'sign' | 'verify') {
  const raw = typeof secret === 'string' ? base64Decode(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret) : Uint8Array.from(secret);
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

/** The signed content: `id.timestamp.payload`, as bytes. */
function signedContent(id: string, timestamp: number, payload: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = new TextEncoder().encode(`${id}.${timestamp}.`);
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix);
  out.set(body, prefix.length);
  return out;
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.payload">` */
export async function signWebhook(secret: string | Uint8Array, id: string, timestamp: number, payload: string | Uint8Array): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret, 'sign'), signedContent(id, timestamp, payload));
  return `v1,${base64Encode(new Uint8Array(mac))}`;
}

/**
 * Verifies a webhook delivery and resolves to its parsed JSON payload. Pass the raw body exactly
 * as received. Rejects with WebhookVerificationError on a missing header, a bad signature, or a
 * timestamp more than `toleranceSeconds` (default 300) away from now; and, with code
 * `number_out_of_range`, on a payload holding a number beyond a double (1e400).
 */
export async function verifyWebhook<T = unknown>(
  payload: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string | Uint8Array,
  options: VerifyWebhookOptions = {},
): Promise<T> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature header');
  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError('invalid webhook-timestamp');
  const now = Math.floor(Number(options.now ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  const ts = Number(timestamp);
  if (ts < now - tolerance) throw new WebhookVerificationError('webhook timestamp too old');
  if (ts > now + tolerance) throw new WebhookVerificationError('webhook timestamp too new');
  const key = await hmacKey(secret, 'verify');
  const content = signedContent(id, ts, payload);
  let ok = false;
  for (const entry of signatures.split(' ')) {
    const [version, sig] = entry.split(',', 2);
    if (version !== 'v1' || !sig) continue;
    let given: Uint8Array<ArrayBuffer>;
    try {
      given = base64Decode(sig);
    } catch {
      continue;
    }
    // subtle.verify compares in constant time.
    if (await crypto.subtle.verify('HMAC', key, given, content)) {
      ok = true;
      break;
    }
  }
  if (!ok) throw new WebhookVerificationError('no matching webhook signature');
  const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
  // Not JSON, or nested deeper than a response body may be (the Python SDK's parser stops there too).
  const parsed = parseJsonText(text);
  if (!parsed) throw new WebhookVerificationError('webhook payload is not JSON');
  const event = parsed.value;
  // Every event is an object: null or a list would reach the caller typed as one.
  if (event === null || typeof event !== 'object' || Array.isArray(event)) throw new WebhookVerificationError('webhook payload is not a JSON object');
  // An event is data to act on, as a success answer is: never handed on with Infinity in it.
  const path = parsed.beyondDouble;
  if (path !== null) {
    throw new WebhookVerificationError(`webhook payload holds a number beyond a double (±1.8e308) at ${path}, which the SDK cannot represent`, {
      code: 'number_out_of_range', details: { path },
    });
  }
  return event as T;
}
