import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/knex.js';
import type { AccountsService } from '../accounts/service.js';
import type { ConsoleAuth } from '../console-auth/service.js';
import type { KeyUseRecorder } from '../accounts/manage.js';
import type { AssetsConfig, TransferBudget } from '../assets/index.js';
import type { GenerationService } from '../generation/index.js';
import type { ProviderWiring } from '../providers/index.js';
import type { OAuthProviders, PublishOptions } from '../publish/index.js';
import type { Storage } from '../storage/index.js';
import type { WebhookOptions } from '../webhooks/index.js';
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

/**
 * Everything handlers reach beyond the database, built once at start-up by the composition root
 * (src/app/compose.ts). A field is typed and always present: a missing service fails `tsc` or the
 * start, never the first request that needs it.
 */
export interface Services {
  accounts: AccountsService;
  /** Providers by capability, for get_status. */
  providers: ProviderWiring;
  /** Prices, clip size and media providers (src/generation). */
  generation: GenerationService;
  /** Signed file URLs (src/storage). */
  storage: Storage;
  /** Key that signs list cursors (derived from the signing secret, purpose 'cursor'). */
  cursorSecret: string;
  /** Console users and sessions (src/console-auth); without it only API keys authenticate. */
  consoleAuth?: ConsoleAuth;
  /** Import address policy and limits (`config.assets`; tests open a loopback origin here). */
  assetsConfig: AssetsConfig;
  /** Uploads and imports arriving per account at once, counted across processes. */
  assetTransfers: TransferBudget;
  /** Webhook retries, timeout and address policy (`config.webhooks`; tests allow a loopback receiver here). */
  webhookOptions: WebhookOptions;
  /** Publishers and the channel credentials key (src/publish). */
  publish: PublishOptions;
  /** The platforms channels can be connected to (`config.oauthProviders`). */
  oauthProviders: OAuthProviders;
  /** When each API key was last used, written at most once a minute per key. */
  keyUse: KeyUseRecorder;
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
