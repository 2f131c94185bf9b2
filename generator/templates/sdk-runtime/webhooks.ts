/**
 * Webhook signatures (Standard Webhooks: https://www.standardwebhooks.com/): sign and verify.
 * Part of the SDK runtime (see index.ts): only Node built-ins and sibling files may be imported.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { LavendlyError } from './errors.js';

export class WebhookVerificationError extends LavendlyError {
  constructor(message: string) {
    super(message, { code: 'webhook_verification_failed' });
  }
}

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v.join(' ') : v;
  }
  return undefined;
}

function secretBytes(secret: string | Uint8Array): Buffer {
  if (typeof secret !== 'string') return Buffer.from(secret);
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.payload">` */
export function signWebhook(secret: string | Uint8Array, id: string, timestamp: number, payload: string | Uint8Array): string {
  const mac = createHmac('sha256', secretBytes(secret));
  mac.update(`${id}.${timestamp}.`);
  mac.update(payload);
  return `v1,${mac.digest('base64')}`;
}

/**
 * Verifies a webhook delivery and returns its parsed JSON payload. Pass the raw body exactly as
 * received. Throws WebhookVerificationError on a missing header, a bad signature, or a timestamp
 * more than `toleranceSeconds` (default 300) away from now.
 */
export function verifyWebhook<T = unknown>(
  payload: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string | Uint8Array,
  options: { toleranceSeconds?: number; now?: Date | number } = {},
): T {
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
  const expected = Buffer.from(signWebhook(secret, id, ts, payload).slice('v1,'.length));
  const ok = signatures.split(' ').some((entry) => {
    const [version, sig] = entry.split(',', 2);
    if (version !== 'v1' || !sig) return false;
    const given = Buffer.from(sig);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!ok) throw new WebhookVerificationError('no matching webhook signature');
  const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new WebhookVerificationError('webhook payload is not JSON');
  }
}
