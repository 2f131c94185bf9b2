import crypto from 'node:crypto';

/** Every key starts with this, so leaked keys are recognisable by secret scanners. */
export const KEY_PREFIX = 'lvd_';
/** The scopes a key may carry; a key without scopes may call every operation that needs none. */
export const KNOWN_SCOPES = ['admin', 'ledger:write'] as const;
export type Scope = (typeof KNOWN_SCOPES)[number];

/** Shape of a well-formed key: the prefix and 43 base64url characters (32 random bytes). */
const KEY_SHAPE = /^lvd_[A-Za-z0-9_-]{43}$/;

export interface NewKey {
  /** The full secret: shown to its owner once, never stored. */
  key: string;
  /** sha256 of the key, hex: what the database keeps. */
  hash: string;
  /** The first characters, kept for display ("lvd_AbCd…"). */
  prefix: string;
}

export function generateApiKey(): NewKey {
  const key = KEY_PREFIX + crypto.randomBytes(32).toString('base64url');
  return { key, hash: hashApiKey(key), prefix: key.slice(0, 12) };
}

export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex');
}

export function isWellFormedKey(key: string): boolean {
  return KEY_SHAPE.test(key);
}

export function parseScopes(input: string | readonly string[] | undefined | null): Scope[] {
  const list = typeof input === 'string' ? input.split(',') : [...(input ?? [])];
  const scopes = [...new Set(list.map((s) => s.trim()).filter(Boolean))];
  const unknown = scopes.filter((s) => !(KNOWN_SCOPES as readonly string[]).includes(s));
  if (unknown.length) {
    throw new Error(`unknown scope(s): ${unknown.join(', ')} (known: ${KNOWN_SCOPES.join(', ')})`);
  }
  return scopes.sort() as Scope[];
}

/** Scopes are stored as one comma-separated column. */
export function scopesToColumn(scopes: readonly string[]): string {
  return [...scopes].sort().join(',');
}

export function scopesFromColumn(value: string | null | undefined): string[] {
  return value ? value.split(',').filter(Boolean) : [];
}
