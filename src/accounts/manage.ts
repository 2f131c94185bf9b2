import type { Db } from '../db/knex.js';
import { nowIso } from '../db/knex.js';
import { paginate, type Page } from '../db/pagination.js';
import { createApiKey } from './accounts.js';
import { parseScopes, scopesFromColumn } from './keys.js';

/**
 * API keys as their owners manage them (the console, or an admin key): list, create with a name
 * and scopes, revoke. Every function is scoped to one account: another account's key is "not
 * found", never touched.
 */
export interface ManagedKey {
  id: string;
  name: string | null;
  prefix: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const COLUMNS = ['id', 'name', 'prefix', 'scopes', 'created_at', 'last_used_at', 'revoked_at'] as const;

function view(r: Record<string, unknown>): ManagedKey {
  return {
    id: r.id as string, name: (r.name as string | null) ?? null, prefix: r.prefix as string,
    scopes: scopesFromColumn(r.scopes as string), created_at: r.created_at as string,
    last_used_at: (r.last_used_at as string | null) ?? null, revoked_at: (r.revoked_at as string | null) ?? null,
  };
}

/** A scope the caller may not hand out (only an admin key may create an admin key). */
export class ScopeNotGrantableError extends Error {
  constructor(readonly scopes: string[]) {
    super(`Only a key with the admin scope may create keys with: ${scopes.join(', ')}.`);
    this.name = 'ScopeNotGrantableError';
  }
}

export class KeyNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`No API key with id '${id}' exists in this account.`);
    this.name = 'KeyNotFoundError';
  }
}

export function listKeysPage(db: Db, accountId: string, page: { limit?: number; cursor?: string | null; secret: string }): Promise<Page<ManagedKey>> {
  return paginate(db('api_keys').where({ account_id: accountId }).select(...COLUMNS), {
    limit: page.limit, cursor: page.cursor, secret: page.secret, scope: `api_keys:${accountId}`, map: view,
  });
}

export async function createManagedKey(
  db: Db, accountId: string, input: { name?: string | null; scopes?: readonly string[] }, callerScopes: readonly string[],
): Promise<ManagedKey & { key: string }> {
  const scopes = parseScopes(input.scopes ?? []);
  const withheld = scopes.filter((s) => s === 'admin' && !callerScopes.includes('admin'));
  if (withheld.length) throw new ScopeNotGrantableError(withheld);
  const created = await createApiKey(db, accountId, scopes, input.name?.trim() || null);
  return {
    id: created.id, name: input.name?.trim() || null, prefix: created.prefix, scopes: created.scopes,
    created_at: created.created_at, last_used_at: null, revoked_at: null, key: created.key,
  };
}

/** Revokes one of the account's keys (a second revocation keeps the first time). */
export async function revokeManagedKey(db: Db, accountId: string, id: string): Promise<ManagedKey> {
  const found = await db('api_keys').where({ id, account_id: accountId }).first('id');
  if (!found) throw new KeyNotFoundError(id);
  await db('api_keys').where({ id }).whereNull('revoked_at').update({ revoked_at: nowIso() });
  return view(await db('api_keys').where({ id }).first(...COLUMNS));
}

/** How often one process records a key's use: the column says "last used" to the minute, not per request. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Records that a key was used, at most once a minute per key and process, without holding up the
 * request (the write is not awaited; a failed write only leaves the time stale).
 */
export class KeyUseRecorder {
  private last = new Map<string, number>();

  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  note(keyId: string): void {
    const now = this.now();
    const prev = this.last.get(keyId);
    if (prev !== undefined && now - prev < TOUCH_EVERY_MS) return;
    if (this.last.size > 50_000) this.last.clear();
    this.last.set(keyId, now);
    this.db('api_keys').where({ id: keyId }).update({ last_used_at: new Date(now).toISOString() }).catch(() => {});
  }
}
