import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { giveToDataDirOwner, prepareDataDir } from '../data-dir.js';

/** File (inside the data dir) holding the generated secret when none is configured. */
export const SECRET_FILE = 'signing-secret';

/**
 * The key that signs file URLs, upload slots and cursors: `config.signingSecret` when set, else a
 * random one generated once and kept in `<dataDir>/signing-secret` (mode 0600), so signed links
 * survive restarts and are shared by every process on the same data dir.
 */
export async function loadSigningSecret(config: { dataDir: string; dataDirIsDefault?: boolean; signingSecret: string | null }): Promise<Buffer> {
  if (config.signingSecret) {
    if (config.signingSecret.length < 16) throw new Error('The signing secret must be at least 16 characters long.');
    return Buffer.from(config.signingSecret, 'utf8');
  }
  prepareDataDir(config.dataDir, undefined, config.dataDirIsDefault);
  const file = path.join(config.dataDir, SECRET_FILE);
  const fresh = crypto.randomBytes(32).toString('base64url');
  // Written whole beside it, then linked into place: link() creates the name only if it is free,
  // so exactly one process creates it and the others read what it wrote. Written in place, a full
  // disk left an empty file that stopped every later start, long after space was freed.
  const tmp = path.join(config.dataDir, `.${SECRET_FILE}.${crypto.randomBytes(6).toString('hex')}`);
  try {
    await fs.writeFile(tmp, `${fresh}\n`, { flag: 'wx', mode: 0o600 });
    await fs.link(tmp, file);
    giveToDataDirOwner(config.dataDir, [file]);
    return Buffer.from(fresh, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
  // Another process may have created it a moment ago: wait until its content is there.
  for (let attempt = 0; attempt < 50; attempt++) {
    const text = (await fs.readFile(file, 'utf8')).trim();
    if (text) return Buffer.from(text, 'utf8');
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${file} is empty; delete it or set LAVENDLY_SIGNING_SECRET.`);
}

/** A key for one purpose derived from the secret, so a signature made for one use is void in any other. */
export function purposeKey(secret: Buffer, purpose: string): Buffer {
  return crypto.createHmac('sha256', secret).update(`lavendly:${purpose}`).digest();
}

export function hmac(key: Buffer, message: string): string {
  return crypto.createHmac('sha256', key).update(message).digest('base64url');
}

/** Constant-time comparison of two base64url signatures. */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
