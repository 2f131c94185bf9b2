/**
 * Renders: the final video. `create_render` freezes the workflow's clips and audio and queues the
 * work (src/renders); the rest reads renders back, or relabels and cancels one (canvas only).
 */
import type { RendersHandlers } from '../generated/handlers.gen.js';
import type * as T from '../generated/types.gen.js';
import { apiKeyIdOf, type AppContext } from '../src/http/context.js';
import { waitEnds } from '../src/http/caller-gone.js';
import { ApiError } from '../src/http/errors.js';
import { jobWaits, type JobWait } from '../src/jobs/index.js';
import { keyedWrite } from '../src/http/keyed-write.js';
import {
  ACTIVE_RENDER, cancelRender, findRender, listRenderRows, moneyFor, moneyOf, startRender,
  type RenderMoney, type RenderRow,
} from '../src/renders/index.js';
import { findWorkflow } from '../src/workflows/store.js';
import { longPoll } from '../src/util/long-poll.js';

function renderView(ctx: AppContext, r: RenderRow, money: RenderMoney, waits: Map<string, JobWait>): T.Render {
  const signed = r.status === 'succeeded' && r.output_key ? ctx.services.storage.signedUrlWithExpiry(r.output_key) : null;
  return {
    id: r.id,
    workflow_id: r.workflow_id,
    workflow_version: r.workflow_version,
    status: r.status,
    progress: r.status === 'succeeded' ? 1 : r.progress,
    label: r.label,
    url: signed?.url ?? null,
    url_expires_at: signed?.expiresAt.toISOString() ?? null,
    duration_s: r.duration_s,
    credits_charged: money.credits_charged,
    credits_reserved: money.credits_reserved,
    scenes_reused: r.scenes_reused,
    scenes_generated: money.scenes_generated,
    error: r.error,
    waiting: (r.job_id ? waits.get(r.job_id) : undefined) ?? null, // waitsOf holds unfinished renders' jobs only
    created_at: r.created_at,
    finished_at: r.finished_at,
  };
}

/** What the page's unfinished renders wait for, by job id (finished ones wait for nothing). */
function waitsOf(ctx: AppContext, renders: RenderRow[]): Promise<Map<string, JobWait>> {
  return jobWaits(ctx.db, renders.filter((r) => ACTIVE_RENDER.includes(r.status)).map((r) => r.job_id));
}

async function viewOne(ctx: AppContext, r: RenderRow): Promise<T.Render> {
  const [money, waits] = await Promise.all([moneyOf(ctx.db, [r]), waitsOf(ctx, [r])]);
  return renderView(ctx, r, moneyFor(money, r), waits);
}

async function viewPage(ctx: AppContext, page: { data: RenderRow[]; next_cursor: string | null; has_more: boolean }): Promise<T.RenderList> {
  const [money, waits] = await Promise.all([moneyOf(ctx.db, page.data), waitsOf(ctx, page.data)]);
  return { data: page.data.map((r) => renderView(ctx, r, moneyFor(money, r), waits)), next_cursor: page.next_cursor, has_more: page.has_more };
}

export const rendersHandlers = {
  async create_render(input, ctx) {
    const render = await keyedWrite(ctx, (db) => startRender(db, ctx.services.generation.settings, {
      accountId: ctx.account.id, keyId: apiKeyIdOf(ctx.account), workflowId: input.path.id, label: input.body?.label ?? null,
      maxCredits: input.body?.max_credits ?? 0,
    }), { idOf: (made) => made.id, find: (id) => findRender(ctx.db, ctx.account.id, input.path.id, id) });
    return { status: 202, body: await viewOne(ctx, render), headers: { Location: `/workflows/${render.workflow_id}/renders/${render.id}` } };
  },

  async get_render(input, ctx) {
    // Signed URLs differ on every read: a change is a change of status or progress.
    const ends = waitEnds(ctx.koa);
    const render = await longPoll(() => findRender(ctx.db, ctx.account.id, input.path.id, input.path.job_id), {
      waitS: input.query.wait_s ?? 0,
      final: (r) => ['succeeded', 'failed', 'canceled'].includes(r.status),
      fingerprint: (r) => `${r.status}:${r.progress}`,
      signal: ends.signal,
    }).finally(ends.done);
    return { status: 200, body: await viewOne(ctx, render), headers: { 'Cache-Control': 'no-store' } };
  },

  async list_renders(input, ctx) {
    await findWorkflow(ctx.db, ctx.account.id, input.path.id);
    const page = await listRenderRows(ctx.db, {
      accountId: ctx.account.id, workflowId: input.path.id, limit: input.query.limit, cursor: input.query.cursor ?? null, secret: ctx.services.cursorSecret,
    });
    return { status: 200, body: await viewPage(ctx, page) };
  },

  async list_all_renders(input, ctx) {
    const page = await listRenderRows(ctx.db, {
      accountId: ctx.account.id, status: input.query.status, limit: input.query.limit, cursor: input.query.cursor ?? null, secret: ctx.services.cursorSecret,
    });
    return { status: 200, body: await viewPage(ctx, page) };
  },

  async update_render(input, ctx) {
    const { id: workflowId, job_id: renderId } = input.path;
    const body = input.body;
    if (body.label === undefined && body.cancel === undefined) {
      throw new ApiError('validation_error', 'Nothing to change: give `label` and/or `cancel: true`.', {
        issues: { body: [{ path: [], message: 'give label and/or cancel', code: 'too_small' }] },
      });
    }
    const updated = await ctx.db.transaction(async (trx) => {
      let render = await findRender(trx, ctx.account.id, workflowId, renderId);
      if (body.cancel) {
        const canceled = await cancelRender(trx, render);
        if (!canceled) {
          throw new ApiError('not_cancelable', `Render ${renderId} has already ${render.status === 'canceled' ? 'been canceled' : render.status}; only a queued or running render can be canceled.`, {
            render_id: renderId, status: render.status,
          });
        }
        render = canceled;
      }
      if (body.label !== undefined) {
        await trx('renders').where({ id: renderId }).update({ label: body.label, updated_at: new Date().toISOString() });
        render = { ...render, label: body.label };
      }
      return render;
    });
    return { status: 200, body: await viewOne(ctx, updated) };
  },
} satisfies RendersHandlers<AppContext>;
