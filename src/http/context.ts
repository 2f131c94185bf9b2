import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/knex.js';
import type { AccountsService } from '../accounts/service.js';
import type { ConsoleAuth } from '../console-auth/service.js';
import type { ProviderWiring } from '../providers/index.js';
import type { Storage } from '../storage/index.js';
import { UnauthorizedError } from './errors.js';

/** The caller, as established by the API key or the console session. */
export interface AccountRef {
  id: string;
  scopes: string[];
  /** The key's id; for a console session `user:<user id>` (what rate limits count by). */
  keyId: string;
  /** How the caller authenticated (absent: an API key). */
  via?: 'key' | 'session';
  /** The signed-in person and their session, for console sessions. */
  userId?: string;
  sessionId?: string;
}

/** The API key a caller used, or null for a console session (credits spent are re-checked against it). */
export function apiKeyIdOf(account: AccountRef): string | null {
  return account.via === 'session' ? null : account.keyId;
}

export type { ProviderWiring };

/**
 * Everything handlers reach beyond the database. Colleagues add their service as a field here
 * (optional until it is always wired) and build it in src/http/services.ts.
 */
export interface Services {
  accounts: AccountsService;
  /** Providers by capability, for get_status. */
  providers: ProviderWiring;
  /** Signed file URLs (src/storage). */
  storage: Storage;
  /** Key that signs list cursors (derived from the signing secret, purpose 'cursor'). */
  cursorSecret: string;
  /** Console users and sessions (src/console-auth); without it only API keys authenticate. */
  consoleAuth?: ConsoleAuth;
  /** Anything else a module registers (ledger, jobs, storage, media ...), looked up by name. */
  [name: string]: unknown;
}

/**
 * A registry entry by name: what the app (or a test) registered, else built by `create` (from
 * the environment) on first use and kept, so the environment is read once.
 */
export function serviceOf<T>(services: Services, name: string, create: () => T): T {
  let value = services[name] as T | undefined;
  if (value === undefined) services[name] = value = create();
  return value;
}

/** What every handler receives as its second argument. */
export interface AppContext {
  /** The calling account. On operations without security, reading it throws 401 unless a valid key was sent. */
  readonly account: AccountRef;
  /** The account when one authenticated, else null (for operations that work either way). */
  readonly maybeAccount: AccountRef | null;
  readonly requestId: string;
  readonly db: Db;
  readonly config: Config;
  readonly services: Services;
  readonly logger: Logger;
  /** The Koa context: an escape hatch for raw headers and streams; prefer the typed input. */
  readonly koa: Koa.Context;
}

/** What the middleware keeps on `ctx.state` for the runtime. */
export interface LavendlyState {
  requestId: string;
  account: AccountRef | null;
  /** The request body bytes, read once (JSON operations). */
  rawBody?: Buffer;
  /** Set by the runtime: the operation being served, for logs. */
  operationId?: string;
}

/** The per-request AppContext: a class, so the `account` getter lives on the prototype, not on every instance. */
class RequestAppContext implements AppContext {
  readonly maybeAccount: AccountRef | null;
  readonly requestId: string;
  readonly db: Db;
  readonly config: Config;
  readonly services: Services;
  readonly logger: Logger;

  constructor(readonly koa: Koa.Context, deps: { db: Db; config: Config; services: Services; logger: Logger }) {
    const state = koa.state as LavendlyState;
    this.maybeAccount = state.account ?? null;
    this.requestId = state.requestId;
    this.db = deps.db;
    this.config = deps.config;
    this.services = deps.services;
    this.logger = deps.logger;
  }

  get account(): AccountRef {
    if (!this.maybeAccount) throw new UnauthorizedError();
    return this.maybeAccount;
  }
}

export function buildAppContext(
  ctx: Koa.Context,
  deps: { db: Db; config: Config; services: Services; logger: Logger },
): AppContext {
  return new RequestAppContext(ctx, deps);
}
