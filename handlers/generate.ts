/**
 * Generation: price it, start it, follow it. The work itself runs on the job queue
 * (src/generation/jobs.ts); these handlers only read and start.
 */
import type { GenerateHandlers } from '../generated/handlers.gen.js';
import type * as T from '../generated/types.gen.js';
import { apiKeyIdOf, type AppContext } from '../src/http/context.js';
import { estimateCost, generationStatus, startedGeneration, startGeneration } from '../src/generation/index.js';
import { waitEnds } from '../src/http/caller-gone.js';
import { keyedWrite } from '../src/http/keyed-write.js';
import { longPoll } from '../src/util/long-poll.js';

export const generateHandlers = {
  async estimate_cost(input, ctx) {
    const body: T.CostEstimate = await estimateCost(
      ctx.db, ctx.services.generation.settings, ctx.account.id, input.path.id, input.query.node_id,
    );
    return { status: 200, body, headers: { 'Cache-Control': 'no-store' } };
  },

  async generate_scene(input, ctx) {
    const { generation, scenes } = await keyedWrite(ctx, (db) => startGeneration(db, ctx.services.generation.settings, {
      accountId: ctx.account.id,
      keyId: apiKeyIdOf(ctx.account),
      workflowId: input.path.id,
      nodeId: input.body?.node_id,
      rerollHint: input.body?.reroll_hint,
    }), { idOf: (made) => made.generation.id, find: (id) => startedGeneration(ctx.db, ctx.account.id, id) });
    const body: T.Generation = {
      id: generation.id,
      workflow_id: generation.workflow_id,
      status: generation.status,
      scenes: scenes.map((s) => s.node_id),
      credits_reserved: generation.credits_reserved,
      created_at: generation.created_at,
    };
    return { status: 202, body, headers: { Location: `/workflows/${generation.workflow_id}/generation-status` } };
  },

  async get_generation_status(input, ctx) {
    const ends = waitEnds(ctx.koa);
    const body: T.GenerationStatus = await longPoll(() => generationStatus(ctx.db, ctx.services.storage, ctx.account.id, input.path.id), {
      waitS: input.query.wait_s ?? 0,
      final: (s) => s.status === 'succeeded' || s.status === 'failed' || s.status === 'idle',
      // Signed links change on every read: a change is a change of phase, progress, or a scene's
      // status or wait (a scene starting to wait for the store is news to a waiting agent).
      fingerprint: (s) => JSON.stringify([s.status, s.phase, s.progress, s.scenes.map((x) => [x.status, x.waiting?.reason ?? null])]),
      signal: ends.signal,
    }).finally(ends.done);
    return { status: 200, body, headers: { 'Cache-Control': 'no-store' } };
  },
} satisfies GenerateHandlers<AppContext>;
