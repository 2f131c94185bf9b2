import type { Db } from '../db/knex.js';
import {
  createAccount, createApiKey, createFirstAccount, findPrincipalByKey, revokeApiKey,
  type CreateAccountInput, type CreditGranter, type KeyPrincipal,
} from './accounts.js';

/**
 * Accounts and keys with a short-lived lookup cache, so that authenticating a request does not
 * cost a database round trip every time. Revocation through this service clears the cache at
 * once; a revocation made by another process (another API process, the CLI) is seen by the API's
 * operations at once (the rate-limit statement checks the key, src/http/auth.ts, which then calls
 * `forget`), and everywhere else within `cacheTtlMs` (default 500 ms, under the one second
 * promised for revocation).
 * The cache is keyed by the presented key itself (hashing it on every request cost more than the
 * lookup); it lives only in this process's memory, beside the request that carried the key.
 */
export class AccountsService {
  private cache = new Map<string, { principal: KeyPrincipal | null; expires: number }>();

  constructor(
    private readonly db: Db,
    private readonly grant: CreditGranter | null,
    private readonly cacheTtlMs = 500,
    private readonly cacheMax = 10_000,
  ) {}

  createAccount(input: CreateAccountInput) {
    return createAccount(this.db, input, this.grant);
  }

  /** The development account of a first start; null when the database has an account already. */
  createFirstAccount(input: CreateAccountInput) {
    return createFirstAccount(this.db, input, this.grant);
  }

  createApiKey(accountId: string, scopes?: readonly string[] | string) {
    return createApiKey(this.db, accountId, scopes);
  }

  async revokeApiKey(keyId: string): Promise<boolean> {
    const done = await revokeApiKey(this.db, keyId);
    this.cache.clear();
    return done;
  }

  /** Drops a key's cached lookup (it was found revoked). */
  forget(key: string): void {
    this.cache.delete(key);
  }

  /** Drops every cached lookup (after a revocation made outside this service). */
  forgetAll(): void {
    this.cache.clear();
  }

  async authenticate(key: string): Promise<KeyPrincipal | null> {
    if (this.cacheTtlMs <= 0) return findPrincipalByKey(this.db, key);
    const now = performance.now();
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) return hit.principal;
    const principal = await findPrincipalByKey(this.db, key);
    if (this.cache.size >= this.cacheMax) this.cache.clear();
    this.cache.set(key, { principal, expires: now + this.cacheTtlMs });
    return principal;
  }

  get canGrantCredits(): boolean {
    return this.grant !== null;
  }
}
