import crypto from 'node:crypto';

/** A PKCE verifier (RFC 7636): 32 random bytes, base64url, 43 characters. */
export function newCodeVerifier(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** The S256 challenge of a verifier: base64url(sha256(verifier)). */
export function codeChallengeS256(verifier: string): string {
  return crypto.createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** Whether `verifier` is well formed (RFC 7636 section 4.1) and hashes to `challenge`. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false;
  const a = Buffer.from(codeChallengeS256(verifier));
  const b = Buffer.from(challenge);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
