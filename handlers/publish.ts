/**
 * Publishing: connected channels, publish now / schedule, and reading back or canceling a
 * publication. The rules (exactly-once claim, `when` limits, AI disclosure, sealed credentials)
 * live in src/publish; these handlers adapt HTTP to them and find the render to post.
 */
import type { PublishHandlers } from '../generated/handlers.gen.js';
import type * as T from '../generated/types.gen.js';
import type { AppContext } from '../src/http/context.js';
import { keyedWrite } from '../src/http/keyed-write.js';
import { ApiError, ConflictError, NotFoundError, ValidationError } from '../src/http/errors.js';
import { accountTimeZone, formatInZone, isTimeZone, zonedToInstant } from '../src/accounts/time-zone.js';
import { requirePerson, requirePersonOrAdmin } from '../src/http/caller.js';
import { channelCallbackUrl } from '../src/http/console/channel-callback.js';
import {
  beginChannelConnection, cancelPublication, ChannelBusyError, ChannelConnectError, connectChannel, disconnectChannel, getChannel, getPublication,
  listChannels, requestPublication,
  type Channel, type Publication, type SecretsOptions, secretsFor,
} from '../src/publish/index.js';
import { latestFinishedRender } from '../src/renders/index.js';
import { findWorkflow } from '../src/workflows/store.js';

/**
 * Where channel credentials are sealed: the same key the worker opens them with (env
 * LAVENDLY_CREDENTIALS_KEY / LAVENDLY_SIGNING_SECRET, else a key file in the data dir).
 */
function publishSecrets(ctx: Pick<AppContext, 'config'>): SecretsOptions {
  return secretsFor(ctx.config);
}

/** The request's Idempotency-Key (already checked by the idempotency layer) and its replay window. */
function requestKeyOf(ctx: Pick<AppContext, 'config' | 'koa'>): { key: string; windowS: number } | null {
  const key = ctx.koa.get('idempotency-key');
  return key ? { key, windowS: ctx.config.idempotencyWindowS } : null;
}

function channelView(c: Channel): T.Channel {
  return { id: c.id, platform: c.platform, name: c.name, created_at: c.created_at };
}

function publicationView(p: Publication): T.Publication {
  return {
    id: p.id,
    workflow_id: p.workflow_id,
    channel_id: p.channel_id,
    render_id: p.render_id,
    platform: p.platform,
    status: p.status,
    title: p.title,
    caption: p.caption,
    scheduled_for: p.scheduled_for,
    published_url: p.published_url,
    ai_disclosure: true,
    error: p.error,
    created_at: p.created_at,
    updated_at: p.updated_at,
  };
}

function invalidTime(path: string, message: string): ValidationError {
  return new ValidationError({ body: [{ path: [path], code: 'invalid_time', message }] }, message);
}

/** `when`, or `local_time` read in `time_zone` (default the account's): the instant to post at. */
async function whenOf(ctx: AppContext, body: { when?: string; local_time?: string; time_zone?: string }): Promise<{ when: string | null; zone: string }> {
  const zone = body.time_zone ?? (await accountTimeZone(ctx.db, ctx.account.id));
  if (!isTimeZone(zone)) throw invalidTime('time_zone', `'${zone}' is not an IANA time zone (for example Europe/Paris or UTC).`);
  if (body.when !== undefined && body.local_time !== undefined) throw invalidTime('local_time', "Give either 'when' or 'local_time', not both.");
  if (body.time_zone !== undefined && body.local_time === undefined) throw invalidTime('time_zone', "'time_zone' goes with 'local_time'; 'when' carries its own offset.");
  if (body.local_time === undefined) return { when: body.when ?? null, zone };
  return { when: zonedToInstant(body.local_time, zone).toISOString(), zone };
}

export const publishHandlers = {
  async list_channels(_input, ctx) {
    const list = await listChannels(ctx.db, ctx.account.id);
    return { status: 200, body: { connected: list.connected, data: list.data.map(channelView) } };
  },

  /** A person in the console only: the platform's consent page is theirs to click through. */
  async start_channel_connection(input, ctx) {
    const caller = ctx.account;
    requirePerson(caller, 'Connecting a channel');
    try {
      const started = await beginChannelConnection(ctx.db, ctx.services.oauthProviders[input.body.platform], {
        platform: input.body.platform, name: input.body.name ?? null, accountId: caller.id,
        userId: caller.userId!, sessionId: caller.sessionId!, redirectUri: channelCallbackUrl(ctx.config),
      });
      return { status: 200, body: { authorize_url: started.authorizeUrl, expires_at: started.expiresAt } };
    } catch (err) {
      if (err instanceof ChannelConnectError && err.code === 'not_configured') throw new ApiError('not_implemented', err.message, { platform: input.body.platform });
      throw err;
    }
  },

  async disconnect_channel(input, ctx) {
    requirePersonOrAdmin(ctx.account, 'Disconnecting a channel');
    try {
      await disconnectChannel(ctx.db, ctx.account.id, input.path.id, publishSecrets(ctx));
    } catch (err) {
      if (err instanceof ChannelBusyError) throw new ConflictError(err.message, { pending_publications: err.pending });
      throw err;
    }
    ctx.logger.info({ request_id: ctx.requestId, channel_id: input.path.id }, 'channel disconnected');
    return { status: 204 };
  },

  /** Admin only (x-scopes, enforced before this runs). The credentials go in sealed and never come back. */
  async connect_channel(input, ctx) {
    const { account_id, platform, name, credentials } = input.body;
    const account = await ctx.db('accounts').where({ id: account_id }).first('id');
    if (!account) throw new NotFoundError('account', account_id);
    const channel = await keyedWrite(ctx, (db) => connectChannel(db, { accountId: account_id, platform, name, credentials }, publishSecrets(ctx)), {
      idOf: (made) => made.id, find: (id) => getChannel(ctx.db, account_id, id),
    });
    ctx.logger.info({ request_id: ctx.requestId, channel_id: channel.id, account_id, platform }, 'channel connected');
    return { status: 201, body: channelView(channel) };
  },

  async publish_video(input, ctx) {
    const accountId = ctx.account.id;
    await findWorkflow(ctx.db, accountId, input.path.id); // another account's workflow: 404
    const latestRender = await latestFinishedRender(ctx.db, ctx.services.storage, accountId, input.path.id);
    const { when, zone } = await whenOf(ctx, input.body);
    const publication = await requestPublication(ctx.db, {
      accountId,
      workflowId: input.path.id,
      channelId: input.body.channel_id,
      title: input.body.title ?? null,
      caption: input.body.caption ?? null,
      when,
      latestRender,
      requestKey: requestKeyOf(ctx),
    }, { secrets: publishSecrets(ctx) });
    const view = publicationView(publication);
    // A scheduled post echoes its time in both forms: UTC, and wall-clock in the zone it was asked in.
    const echo = view.scheduled_for ? { scheduled_local: formatInZone(new Date(view.scheduled_for), zone), time_zone: zone } : {};
    return { status: 202, body: { ...view, ...echo }, headers: { Location: `/publications/${publication.id}` } };
  },

  async get_publication(input, ctx) {
    return { status: 200, body: publicationView(await getPublication(ctx.db, ctx.account.id, input.path.id)) };
  },

  async cancel_publication(input, ctx) {
    return { status: 200, body: publicationView(await cancelPublication(ctx.db, ctx.account.id, input.path.id)) };
  },
} satisfies PublishHandlers<AppContext>;
