/**
 * Presigned S3 GET URLs (AWS Signature Version 4, query-string form, path-style), computed
 * synchronously: a signed link is built wherever a view is rendered (many of them synchronous),
 * and the SDK's presigner is async. test/storage/sigv4.test.ts checks the result against
 * `@aws-sdk/s3-request-presigner` byte for byte.
 */
import crypto from 'node:crypto';

export interface PresignTarget {
  /** Endpoint origin plus any base path, e.g. `http://127.0.0.1:4568` (no trailing slash). */
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | null;
}

/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const sha256Hex = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');
const hmac = (key: Buffer | string, text: string) => crypto.createHmac('sha256', key).update(text, 'utf8').digest();

/** `20261206T062812Z` */
function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** A presigned GET of `key`, valid `expiresInS` seconds from `now` (at most 7 days, SigV4's limit). */
export function presignGet(target: PresignTarget, key: string, options: { expiresInS: number; now?: Date; query?: Record<string, string> }): string {
  const endpoint = new URL(target.endpoint);
  const datetime = amzDate(options.now ?? new Date());
  const day = datetime.slice(0, 8);
  const scope = `${day}/${target.region}/s3/aws4_request`;
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  const canonicalPath = `${basePath}/${rfc3986(target.bucket)}/${key.split('/').map(rfc3986).join('/')}`;
  const params: Record<string, string> = {
    ...options.query,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD',
    'X-Amz-Credential': `${target.accessKeyId}/${scope}`,
    'X-Amz-Date': datetime,
    'X-Amz-Expires': String(options.expiresInS),
    'X-Amz-SignedHeaders': 'host',
    'x-id': 'GetObject',
  };
  if (target.sessionToken) params['X-Amz-Security-Token'] = target.sessionToken;
  const query = Object.entries(params)
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = ['GET', canonicalPath, query, `host:${endpoint.host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', datetime, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${target.secretAccessKey}`, day), target.region), 's3'), 'aws4_request');
  const signature = crypto.createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
  return `${endpoint.protocol}//${endpoint.host}${canonicalPath}?${query}&X-Amz-Signature=${signature}`;
}
