/**
 * Workflows: shots in, scenes and a canvas graph out. Every lookup is scoped to the calling
 * account, so another account's workflow id answers 404 exactly like an unknown one.
 */
import type { WorkflowsHandlers } from '../generated/handlers.gen.js';
import type * as T from '../generated/types.gen.js';
import type { AppContext } from '../src/http/context.js';
import { keyedWrite } from '../src/http/keyed-write.js';
import { buildGraph, type SceneRow } from '../src/workflows/compile.js';
import { removeWorkflowFiles } from '../src/workflows/file-cleanup.js';
import {
  createWorkflow, deleteWorkflow, getWorkflow, listWorkflowSummaries, parseIfMatch, updateWorkflow,
  type WorkflowSummaryRow, type WorkflowWithScenes,
} from '../src/workflows/store.js';
import { checkVideoModel, parseSceneError } from '../src/generation/index.js';
import { cancelWorkflowPublications, recentWorkflowPublications } from '../src/publish/index.js';

/** Signed URLs for a scene's stored artifacts. */
function urlsFor(ctx: AppContext) {
  return (scene: SceneRow) => ({
    image_url: scene.image_key ? ctx.services.storage.signedUrl(scene.image_key) : null,
    clip_url: scene.clip_key ? ctx.services.storage.signedUrl(scene.clip_key) : null,
  });
}

function workflowView(ctx: AppContext, { workflow, scenes }: WorkflowWithScenes): T.Workflow {
  const urls = urlsFor(ctx);
  const { nodes, edges } = buildGraph(scenes, urls);
  return {
    id: workflow.id,
    name: workflow.name,
    description: workflow.description,
    aspect_ratio: workflow.aspect_ratio,
    video_model: workflow.video_model,
    version: workflow.version,
    scenes: scenes.map((s) => ({
      node_id: s.node_id,
      index: s.position,
      prompt: s.prompt,
      image_prompt: s.image_prompt,
      image_asset_id: s.image_asset_id,
      duration_s: s.duration_s,
      status: s.status,
      image_node_id: s.image_node_id,
      ...urls(s),
      error: s.status === 'failed' ? parseSceneError(s.error) : null,
    })),
    nodes: nodes as T.GraphNode[],
    edges,
    created_at: workflow.created_at,
    updated_at: workflow.updated_at,
  };
}

function summaryView(w: WorkflowSummaryRow): T.WorkflowSummary {
  return {
    id: w.id, name: w.name, description: w.description, aspect_ratio: w.aspect_ratio, version: w.version,
    scene_count: w.scene_count, scenes_generated: w.scenes_generated, created_at: w.created_at, updated_at: w.updated_at,
  };
}

const etagOf = (version: number) => `"${version}"`;

export const workflowsHandlers = {
  async list_workflows(input, ctx) {
    const page = await listWorkflowSummaries(ctx.db, ctx.account.id, {
      limit: input.query.limit, cursor: input.query.cursor ?? null, secret: ctx.services.cursorSecret,
    });
    return { status: 200, body: { data: page.data.map(summaryView), next_cursor: page.next_cursor, has_more: page.has_more } };
  },

  async create_workflow(input, ctx) {
    if (input.body.video_model !== undefined) checkVideoModel(ctx.services.generation.settings, input.body.video_model);
    const created = await keyedWrite(ctx, (db) => createWorkflow(db, ctx.account.id, input.body), {
      idOf: (made) => made.workflow.id,
      find: (id) => getWorkflow(ctx.db, ctx.account.id, id),
    });
    return {
      status: 201,
      body: workflowView(ctx, created),
      headers: { ETag: etagOf(created.workflow.version), Location: `/workflows/${created.workflow.id}` },
    };
  },

  async get_workflow(input, ctx) {
    const found = await getWorkflow(ctx.db, ctx.account.id, input.path.id);
    // Recent posts ride along: an MCP agent has no get_publication to follow a scheduled one.
    // Their query runs only when the workflow's own statement saw one (most were never published).
    const recent = found.hasPublications ? await recentWorkflowPublications(ctx.db, ctx.account.id, input.path.id) : [];
    const publications = recent.map((p) => ({
      id: p.id, channel_id: p.channel_id, platform: p.platform, status: p.status,
      scheduled_for: p.scheduled_for, published_url: p.published_url, error: p.error,
    }));
    return { status: 200, body: { ...workflowView(ctx, found), ...(publications.length ? { publications } : {}) }, headers: { ETag: etagOf(found.workflow.version) } };
  },

  async update_workflow(input, ctx) {
    const { version, ...patch } = input.body;
    if (patch.video_model != null) checkVideoModel(ctx.services.generation.settings, patch.video_model);
    // If-Match and body `version` may both be given: each must name the current version.
    let expected = parseIfMatch(input.headers['if-match']);
    if (version !== undefined) expected = expected === null ? [version] : expected.filter((v) => v === version);
    const updated = await updateWorkflow(ctx.db, ctx.account.id, input.path.id, patch, expected);
    return { status: 200, body: workflowView(ctx, updated), headers: { ETag: etagOf(updated.workflow.version) } };
  },

  async delete_workflow(input, ctx) {
    const accountId = ctx.account.id;
    const workflowId = input.path.id;
    // Its scheduled posts are canceled in the same transaction, so none goes out after it is gone.
    const renderKeys = await ctx.db.transaction(async (trx) => {
      const keys = await trx('renders').where({ workflow_id: workflowId, account_id: accountId }).whereNotNull('output_key').pluck('output_key');
      await deleteWorkflow(trx, accountId, workflowId);
      await cancelWorkflowPublications(trx, accountId, workflowId);
      return keys.map(String);
    });
    await removeFilesOf(ctx, workflowId, renderKeys);
    return { status: 204 };
  },
} satisfies WorkflowsHandlers<AppContext>;

/**
 * After the workflow is gone its files can no longer be reached: generated stills and clips
 * (`<account>/<workflow>/`), review frames (`<account>/frames/<workflow>/`) and rendered videos.
 * Imported and uploaded assets belong to the account and stay. The deletion has been committed,
 * so a file that will not go is not an error for the caller: a job removes it later.
 */
async function removeFilesOf(ctx: AppContext, workflowId: string, renderKeys: string[]): Promise<void> {
  const { storage } = ctx.services;
  const keys = [storage.keyFor(ctx.account.id, workflowId), storage.keyFor(ctx.account.id, `frames/${workflowId}`), ...renderKeys];
  await removeWorkflowFiles({ db: ctx.db, storage, log: ctx.logger }, workflowId, keys);
}
