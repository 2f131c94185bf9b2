/**
 * The synchronous SigV4 presigner (src/storage/sigv4.ts) must produce exactly what the AWS SDK's
 * presigner produces for the same request and moment; and the config reads LAVENDLY_STORAGE_URL.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import { ConfigError, storageFromEnv } from '../../src/config.js';
import { presignGet } from '../../src/storage/sigv4.js';

const target = { endpoint: 'http://127.0.0.1:9000', region: 'eu-west-3', bucket: 'media', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

async function sdkUrl(key: string, at: Date, expiresIn: number, sessionToken?: string): Promise<string> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const client = new S3Client({
    endpoint: target.endpoint, region: target.region, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
  });
  return getSignedUrl(client, new GetObjectCommand({ Bucket: target.bucket, Key: key, ResponseContentDisposition: 'inline' }), { expiresIn, signingDate: at });
}

const sorted = (url: string) => {
  const u = new URL(url);
  return { origin: u.origin, path: u.pathname, query: [...u.searchParams.entries()].sort() };
};

describe('presignGet', () => {
  it('matches the AWS SDK presigner for the same request and moment', async () => {
    const at = new Date('2026-12-06T06:28:12Z');
    for (const [key, ttl] of [['acc_1/wf_2/scene-1.mp4', 3600], ['acc_1/renders/ren_9.mp4', 604800], ['a/b', 1]] as const) {
      const mine = presignGet(target, key, { expiresInS: ttl, now: at, query: { 'response-content-disposition': 'inline' } });
      expect(sorted(mine)).toEqual(sorted(await sdkUrl(key, at, ttl)));
    }
  });

  it('signs a session token when there is one', async () => {
    const at = new Date('2027-01-02T03:04:05Z');
    const mine = presignGet({ ...target, sessionToken: 'tok/en+=' }, 'acc/x.png', { expiresInS: 60, now: at, query: { 'response-content-disposition': 'inline' } });
    expect(sorted(mine)).toEqual(sorted(await sdkUrl('acc/x.png', at, 60, 'tok/en+=')));
  });
});

describe('LAVENDLY_STORAGE_URL', () => {
  const creds = { AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret' };
  it('is the local directory when unset', () => {
    expect(storageFromEnv({})).toEqual({ driver: 'local' });
    expect(storageFromEnv({ LAVENDLY_STORAGE_URL: ' ' })).toEqual({ driver: 'local' });
  });

  it('names a bucket, an endpoint, a region and a public endpoint', () => {
    expect(storageFromEnv({ ...creds, LAVENDLY_STORAGE_URL: 's3://media?endpoint=http://minio:9000/&region=eu-west-1&public_endpoint=https://media.example.com' })).toEqual({
      driver: 's3', bucket: 'media', endpoint: 'http://minio:9000', publicEndpoint: 'https://media.example.com', region: 'eu-west-1',
      accessKeyId: 'id', secretAccessKey: 'secret', sessionToken: null, timeoutMs: 30_000,
    });
    const aws = storageFromEnv({ ...creds, AWS_REGION: 'ap-south-1', LAVENDLY_STORAGE_URL: 's3://my.bucket' });
    expect(aws).toMatchObject({ endpoint: 'https://s3.ap-south-1.amazonaws.com', publicEndpoint: 'https://s3.ap-south-1.amazonaws.com', region: 'ap-south-1' });
  });

  it('refuses what it cannot use, naming the variable', () => {
    for (const bad of ['http://media', 's3://', 's3://UPPER', 's3://media/path', 's3://media?endpoint=ftp://x', 's3://media?endpoint=notaurl', 'nonsense']) {
      expect(() => storageFromEnv({ ...creds, LAVENDLY_STORAGE_URL: bad }), bad).toThrow(ConfigError);
      expect(() => storageFromEnv({ ...creds, LAVENDLY_STORAGE_URL: bad }), bad).toThrow(/LAVENDLY_STORAGE_URL/);
    }
    expect(() => storageFromEnv({ LAVENDLY_STORAGE_URL: 's3://media' })).toThrow(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });

  it('takes LAVENDLY_STORAGE_TIMEOUT_S in seconds, fractions included, and refuses anything else', () => {
    const url = { ...creds, LAVENDLY_STORAGE_URL: 's3://media' };
    expect(storageFromEnv({ ...url, LAVENDLY_STORAGE_TIMEOUT_S: '0.25' })).toMatchObject({ timeoutMs: 250 });
    expect(storageFromEnv({ ...url, LAVENDLY_STORAGE_TIMEOUT_S: '' })).toMatchObject({ timeoutMs: 30_000 });
    expect(() => storageFromEnv({ LAVENDLY_STORAGE_TIMEOUT_S: 'soon' })).toThrow(ConfigError);
    for (const bad of ['0', '-1', 'soon', '10s']) {
      expect(() => storageFromEnv({ ...url, LAVENDLY_STORAGE_TIMEOUT_S: bad }), bad).toThrow(ConfigError);
      expect(() => storageFromEnv({ ...url, LAVENDLY_STORAGE_TIMEOUT_S: bad }), bad).toThrow(`LAVENDLY_STORAGE_TIMEOUT_S must be a positive number (got '${bad}')`);
    }
  });
});
