/**
 * Review: the quality check and still frames of a scene or of the final video. Free, and nothing
 * the user made is changed (stills are stored as files of their own).
 */
import type { ReviewHandlers } from '../generated/handlers.gen.js';
import { clipSize } from '../src/generation/index.js';
import type { AppContext } from '../src/http/context.js';
import { checkQuality, reviewScenes, sceneFrame, type ReviewDeps, type SceneFrame } from '../src/review/index.js';

function deps(ctx: AppContext): ReviewDeps {
  const { settings } = ctx.services.generation;
  return { db: ctx.db, storage: ctx.services.storage, clipSize: (aspect) => clipSize(aspect, settings.clipShortSide) };
}

/** A stored still as the API shows it: a signed link that expires, and its size. */
function frameView(ctx: AppContext, frame: SceneFrame) {
  const signed = ctx.services.storage.signedUrlWithExpiry(frame.key);
  return { url: signed.url, width: frame.width, height: frame.height, at_s: frame.at_s, expires_at: signed.expiresAt.toISOString() };
}

export const reviewHandlers = {
  async quality_check(input, ctx) {
    const report = await checkQuality(deps(ctx), ctx.services.generation.providers, ctx.account.id, input.path.id, input.body?.node_id);
    return { status: 200, body: report };
  },

  async get_scene_frame(input, ctx) {
    const frame = await sceneFrame(deps(ctx), ctx.account.id, input.path.id, { nodeId: input.body?.node_id, atS: input.body?.at_s, maxSide: input.body?.max_side });
    return { status: 200, body: frameView(ctx, frame) };
  },

  async review_scenes(input, ctx) {
    const review = await reviewScenes(deps(ctx), ctx.services.generation.providers, ctx.account.id, input.path.id, { maxSide: input.body?.max_side });
    return {
      status: 200,
      body: {
        workflow_id: input.path.id,
        pass: review.pass,
        reviewed: review.reviewed,
        scenes: review.scenes.map((s) => ({ ...s, frame: s.frame ? frameView(ctx, s.frame) : null })),
      },
    };
  },
} satisfies ReviewHandlers<AppContext>;
