import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { giveToDataDirOwner } from '../data-dir.js';

/**
 * Channel credentials are sealed with AES-256-GCM before they reach the database, bound to their
 * channel id (as additional data, so a sealed value cannot be moved to another channel). The key
 * is never in the database: LAVENDLY_CREDENTIALS_KEY (or LAVENDLY_SIGNING_SECRET) when set, which
 * every process of a scaled-out deployment must share; otherwise a random key file created once
 * in the data directory.
 */
export interface SecretsOptions {
  /** Key material (any string): `config.credentialsSecret`; without it, a key file in `dataDir`. */
  secretKey?: string;
  /** Where the generated key file lives when no key is configured. */
  dataDir?: string;
}

const keyCache = new Map<string, Buffer>();

function derive(material: string | Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', material, 'lavendly', 'channel-credentials/v1', 32));
}

/** LAVENDLY_CREDENTIALS_KEY, else LAVENDLY_SIGNING_SECRET; null = the data dir's key file. */
export function credentialsSecretFromEnv(env: NodeJS.ProcessEnv): string | null {
  return (env.LAVENDLY_CREDENTIALS_KEY ?? env.LAVENDLY_SIGNING_SECRET) || null;
}

export function credentialsKey(options: SecretsOptions = {}): Buffer {
  const material = options.secretKey;
  if (material) return derive(material);
  const dataDir = path.resolve(options.dataDir ?? './data');
  const file = path.join(dataDir, 'secrets', 'credentials.key');
  const cached = keyCache.get(file);
  if (cached) return cached;
  const madeDir = fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    // 'wx': only the first process creates it; the others read what it wrote.
    fs.writeFileSync(file, crypto.randomBytes(32).toString('base64'), { flag: 'wx', mode: 0o600 });
    giveToDataDirOwner(dataDir, madeDir ? [path.dirname(file), file] : [file]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const key = derive(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64'));
  keyCache.set(file, key);
  return key;
}

export function sealCredentials(channelId: string, credentials: Record<string, unknown>, key: Buffer): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(channelId));
  const data = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
}

export function openCredentials(channelId: string, sealed: string, key: Buffer): Record<string, unknown> {
  const [version, iv, tag, data] = sealed.split('.');
  if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('sealed credentials are malformed');
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(channelId));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  try {
    const text = Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error('channel credentials cannot be opened with this key (was LAVENDLY_CREDENTIALS_KEY changed?)');
  }
}
