/**
 * Assets: media brought in by URL (`import_asset`) or uploaded into a one-time signed slot
 * (`create_upload`, then the raw bytes with `put_upload`). The checks themselves live in
 * src/assets; these handlers only adapt HTTP to them.
 */
import type { Readable } from 'node:stream';
import type { AssetsHandlers } from '../generated/handlers.gen.js';
import type * as T from '../generated/types.gen.js';
import type { AppContext } from '../src/http/context.js';
import { createUploadSlot, getAsset, importAsset, receiveUpload, type Asset } from '../src/assets/index.js';
import { callerGone } from '../src/http/caller-gone.js';
import { keyedWriteWithin } from '../src/http/keyed-write.js';
import { ApiError, type ErrorCode } from '../src/http/errors.js';
import { logUnavailable } from '../src/http/edge.js';
import { lingerAfterAnswer, toApiError } from '@lavendly/framework';

function assetView(a: Asset): T.Asset {
  return {
    id: a.id, kind: a.kind as T.AssetKind, url: a.url, url_expires_at: a.url_expires_at, bytes: a.bytes,
    content_type: a.content_type, duration_s: a.duration_s, width: a.width, height: a.height,
    filename: a.filename, source_url: a.source_url, created_at: a.created_at,
  };
}

const created = (a: Asset) => ({ status: 201 as const, body: assetView(a), headers: { Location: `/assets/${a.id}` } });

/**
 * A refused upload is answered before the rest of its body is read. Closing right after the
 * answer would reset the connection under a client still sending, and the reset can swallow the
 * answer; so the rest is drained within bounds first (src/http/linger.ts). The HTTP parser frames
 * the body by its length, so no later request is ever parsed out of the leftover bytes.
 */
function refused(err: unknown, ctx: AppContext): ApiError {
  lingerAfterAnswer(ctx.koa.req, ctx.koa.res);
  logUnavailable(ctx.logger, err, ctx.koa);
  const known = toApiError(err);
  // Every code the edge answers with is one the spec declares (the framework's own included).
  if (known) return new ApiError(known.code as ErrorCode, known.message, known.details, known.headers);
  ctx.logger.error({ err, request_id: ctx.requestId }, 'upload failed');
  return new ApiError('internal_error', 'Something went wrong on our side; the request id identifies it in our logs.');
}

export const assetsHandlers = {
  async import_asset(input, ctx) {
    // A download nobody waits for any more would keep its transfer slot (and a slow source's
    // connection) until its own timeouts: it stops when the caller hangs up.
    const gone = callerGone(ctx.koa.res);
    try {
      const deps = { db: ctx.db, storage: ctx.services.storage, config: ctx.services.assetsConfig };
      const asset = await keyedWriteWithin(ctx, (recordIn) => importAsset({
        ...deps, transfers: ctx.services.assetTransfers,
        accountId: ctx.account.id, url: input.body.url, kind: input.body.kind, signal: gone.signal, recordIn,
      }), { find: (id) => getAsset({ ...deps, accountId: ctx.account.id, id }) });
      return created(asset);
    } finally {
      gone.done();
    }
  },

  async create_upload(input, ctx) {
    const slot = await createUploadSlot({
      db: ctx.db, storage: ctx.services.storage, config: ctx.services.assetsConfig,
      accountId: ctx.account.id, kind: input.body.kind, filename: input.body.filename, bytes: input.body.bytes ?? null,
    });
    return {
      status: 201,
      body: {
        id: slot.id, kind: slot.kind as T.AssetKind, filename: slot.filename ?? input.body.filename,
        upload_url: slot.upload_url, token: slot.token, expires_at: slot.expires_at, max_bytes: slot.max_bytes,
      },
    };
  },

  // The token in the URL is the credential: no API key is needed (the app hands the URL to a
  // browser or a plain HTTP client).
  async put_upload(input, ctx) {
    const req = ctx.koa.req;
    // An empty body never reaches the runtime as a stream; the request itself is one (it ends at once).
    const stream: Readable = input.body ?? req;
    const abort = new AbortController();
    const onClose = () => { if (!req.complete) abort.abort(new Error('the client went away during the upload')); };
    req.once('close', onClose);
    const lengthHeader = ctx.koa.get('content-length');
    const contentLength = lengthHeader !== '' && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
    try {
      const asset = await receiveUpload({
        db: ctx.db, storage: ctx.services.storage, config: ctx.services.assetsConfig, transfers: ctx.services.assetTransfers,
        slotId: input.path.id, token: input.query.token, stream, contentLength, signal: abort.signal,
      });
      return created(asset);
    } catch (err) {
      throw refused(err, ctx);
    } finally {
      req.off('close', onClose);
    }
  },

  async get_asset(input, ctx) {
    const asset = await getAsset({ db: ctx.db, storage: ctx.services.storage, config: ctx.services.assetsConfig, accountId: ctx.account.id, id: input.path.id });
    return { status: 200, body: assetView(asset) };
  },
} satisfies AssetsHandlers<AppContext>;
