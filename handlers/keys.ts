/**
 * API keys managed by their owners: a console session, or a key with the admin scope (see
 * src/http/caller.ts for why ordinary keys cannot). The rules live in src/accounts/manage.ts.
 */
import type { KeysHandlers } from '../generated/handlers.gen.js';
import type { AppContext } from '../src/http/context.js';
import { requirePersonOrAdmin } from '../src/http/caller.js';
import { ApiError, NotFoundError } from '../src/http/errors.js';
import { createManagedKey, KeyNotFoundError, listKeysPage, revokeManagedKey, ScopeNotGrantableError } from '../src/accounts/manage.js';

export const keysHandlers = {
  async list_api_keys(input, ctx) {
    requirePersonOrAdmin(ctx.account, 'Listing API keys');
    const page = await listKeysPage(ctx.db, ctx.account.id, { limit: input.query.limit, cursor: input.query.cursor ?? null, secret: ctx.services.cursorSecret });
    return { status: 200, body: page };
  },

  /** The only answer that carries the key itself. */
  async create_api_key(input, ctx) {
    requirePersonOrAdmin(ctx.account, 'Creating API keys');
    try {
      const key = await createManagedKey(ctx.db, ctx.account.id, { name: input.body.name ?? null, scopes: input.body.scopes ?? [] }, ctx.account.scopes);
      ctx.logger.info({ request_id: ctx.requestId, key_id: key.id, scopes: key.scopes, via: ctx.account.via ?? 'key' }, 'API key created');
      return { status: 201, body: key };
    } catch (err) {
      if (err instanceof ScopeNotGrantableError) throw new ApiError('forbidden', err.message, { required_scopes: ['admin'] });
      throw err;
    }
  },

  async revoke_api_key(input, ctx) {
    requirePersonOrAdmin(ctx.account, 'Revoking API keys');
    try {
      const key = await revokeManagedKey(ctx.db, ctx.account.id, input.path.id);
      ctx.services.accounts.forgetAll();
      ctx.logger.info({ request_id: ctx.requestId, key_id: key.id }, 'API key revoked');
      return { status: 200, body: key };
    } catch (err) {
      if (err instanceof KeyNotFoundError) throw new NotFoundError('API key', err.id);
      throw err;
    }
  },
} satisfies KeysHandlers<AppContext>;
