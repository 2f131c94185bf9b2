import { arrayRows, first, rows as fastRows, run as fastRun, sql, transaction as fastTransaction } from '../db/fast.js';
import { dbKind, nowIso, type Db } from '../db/knex.js';
import { sqliteGroupWork } from '../db/sqlite-group.js';
import { DomainError, NotFoundError, PreconditionFailedError, ValidationError, type ValidationIssue } from '../errors.js';
import { paginate, type Page } from '../db/pagination.js';
import { timeOrderedId } from '../util/ids.js';
import { busyReason } from './busy.js';
import { newSceneNodeIds, sameShot, shotFields, type SceneRow, type ShotInput } from './compile.js';

export type AspectRatio = '16:9' | '9:16' | '1:1';
export const DEFAULT_ASPECT_RATIO: AspectRatio = '16:9';

export interface WorkflowRow {
  id: string;
  account_id: string;
  name: string;
  description: string | null;
  aspect_ratio: AspectRatio;
  /** The chosen video model (`runway:gen4_turbo`); null = the server's default. */
  video_model: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface WorkflowSummaryRow extends WorkflowRow {
  scene_count: number;
  scenes_generated: number;
}

export interface WorkflowWithScenes {
  workflow: WorkflowRow;
  scenes: SceneRow[];
}

/** A workflow as get_workflow reads it: also whether any publication names it. */
export interface WorkflowForGet extends WorkflowWithScenes {
  hasPublications: boolean;
}

function toWorkflowRow(r: Record<string, unknown>): WorkflowRow {
  return {
    id: String(r.id), account_id: String(r.account_id), name: String(r.name),
    description: (r.description as string | null) ?? null, aspect_ratio: r.aspect_ratio as AspectRatio,
    video_model: (r.video_model as string | null) ?? null,
    version: Number(r.version), created_at: String(r.created_at), updated_at: String(r.updated_at),
  };
}

function toSceneRow(r: Record<string, unknown>): SceneRow {
  return { ...(r as unknown as SceneRow), position: Number(r.position), duration_s: Number(r.duration_s) };
}

// The hot statements, run without knex's builder (src/db/fast.ts).
const WORKFLOW = sql('select * from "workflows" where "id" = ? and "account_id" = ? limit 1');
const WORKFLOW_FOR_UPDATE = sql('select * from "workflows" where "id" = ? and "account_id" = ? limit 1 for update');
const SCENES = sql('select * from "workflow_scenes" where "workflow_id" = ? order by "position" asc');
const WORKFLOW_COLUMNS = ['id', 'account_id', 'name', 'description', 'aspect_ratio', 'video_model', 'version', 'created_at', 'updated_at'] as const;
const SCENE_COLUMNS = [
  'workflow_id', 'node_id', 'image_node_id', 'account_id', 'position', 'prompt', 'image_prompt', 'image_asset_id',
  'duration_s', 'status', 'image_key', 'clip_key', 'error', 'created_at', 'updated_at',
] as const satisfies readonly (keyof SceneRow)[];
const sceneInserts = new Map<number, ReturnType<typeof sql>>();
/** The INSERT of `n` scenes at once (one statement text per scene count, each prepared once). */
function insertScenes(n: number) {
  let statement = sceneInserts.get(n);
  if (!statement) {
    const row = `(${SCENE_COLUMNS.map(() => '?').join(', ')})`;
    statement = sql(`insert into "workflow_scenes" (${SCENE_COLUMNS.map((c) => `"${c}"`).join(', ')}) values ${Array(n).fill(row).join(', ')}`);
    if (n <= 50) sceneInserts.set(n, statement);
  }
  return statement;
}
/**
 * A workflow and its scenes in one statement (a scene per row, the workflow's columns repeated),
 * rows as arrays: one round trip and no object per row from the driver, against two statements
 * before (~11 us against ~18 us of SQLite work here). The last column says whether any
 * publication names the workflow (evaluated once, not per row), so get_workflow runs its query of
 * recent publications only for a workflow that has some: that query cost ~3.5 us of SQLite work
 * on every get, the column ~0.5 us.
 */
const WORKFLOW_WITH_SCENES = sql(`select ${WORKFLOW_COLUMNS.map((c) => `"w"."${c}"`).join(', ')}, ${SCENE_COLUMNS.map((c) => `"s"."${c}"`).join(', ')}`
  + ', exists (select 1 from "publications" as "p" where "p"."account_id" = ? and "p"."workflow_id" = ?) as "published"'
  + ' from "workflows" as "w" left join "workflow_scenes" as "s" on "s"."workflow_id" = "w"."id"'
  + ' where "w"."id" = ? and "w"."account_id" = ? order by "s"."position" asc');
/** Where each column sits in a row of WORKFLOW_WITH_SCENES. */
const WI = Object.fromEntries(WORKFLOW_COLUMNS.map((c, i) => [c, i])) as Record<(typeof WORKFLOW_COLUMNS)[number], number>;
const SI = Object.fromEntries(SCENE_COLUMNS.map((c, i) => [c, WORKFLOW_COLUMNS.length + i])) as Record<(typeof SCENE_COLUMNS)[number], number>;
const PUBLISHED = WORKFLOW_COLUMNS.length + SCENE_COLUMNS.length;
const INSERT_WORKFLOW = sql(`insert into "workflows" (${WORKFLOW_COLUMNS.map((c) => `"${c}"`).join(', ')}) values (${WORKFLOW_COLUMNS.map(() => '?').join(', ')})`);

/** The workflow if it belongs to the account; another account's id is indistinguishable from none. */
export async function findWorkflow(db: Db, accountId: string, id: string, opts: { lock?: boolean } = {}): Promise<WorkflowRow> {
  const statement = opts.lock && dbKind(db) === 'postgres' ? WORKFLOW_FOR_UPDATE : WORKFLOW;
  const row = await first(db, statement, [id, accountId]);
  if (!row) throw new NotFoundError('workflow', id);
  return toWorkflowRow(row);
}

export async function listScenes(db: Db, workflowId: string): Promise<SceneRow[]> {
  const rows = await fastRows(db, SCENES, [workflowId]);
  return rows.map(toSceneRow);
}

export async function getWorkflow(db: Db, accountId: string, id: string): Promise<WorkflowForGet> {
  const found = await arrayRows(db, WORKFLOW_WITH_SCENES, [accountId, id, id, accountId]);
  const head = found[0];
  if (!head) throw new NotFoundError('workflow', id);
  const workflow: WorkflowRow = {
    id: String(head[WI.id]), account_id: String(head[WI.account_id]), name: String(head[WI.name]),
    description: (head[WI.description] as string | null) ?? null, aspect_ratio: head[WI.aspect_ratio] as AspectRatio,
    video_model: (head[WI.video_model] as string | null) ?? null, version: Number(head[WI.version]),
    created_at: String(head[WI.created_at]), updated_at: String(head[WI.updated_at]),
  };
  // Without scenes, the one row's scene columns are all null.
  const scenes: SceneRow[] = head[SI.node_id] === null ? [] : found.map((r) => ({
    workflow_id: r[SI.workflow_id] as string, node_id: r[SI.node_id] as string, image_node_id: r[SI.image_node_id] as string,
    account_id: r[SI.account_id] as string, position: Number(r[SI.position]), prompt: r[SI.prompt] as string,
    image_prompt: (r[SI.image_prompt] as string | null) ?? null, image_asset_id: (r[SI.image_asset_id] as string | null) ?? null,
    duration_s: Number(r[SI.duration_s]), status: r[SI.status] as SceneRow['status'], image_key: (r[SI.image_key] as string | null) ?? null,
    clip_key: (r[SI.clip_key] as string | null) ?? null, error: (r[SI.error] as string | null) ?? null,
    created_at: String(r[SI.created_at]), updated_at: String(r[SI.updated_at]),
  }));
  // SQLite answers 1 or 0, PostgreSQL a boolean.
  return { workflow, scenes, hasPublications: Boolean(head[PUBLISHED]) };
}

const tableSeen = new WeakMap<object, Set<string>>();
async function hasTable(db: Db, name: string): Promise<boolean> {
  const key = (db as unknown as { client: object }).client;
  const seen = tableSeen.get(key) ?? new Set<string>();
  tableSeen.set(key, seen);
  if (seen.has(name)) return true;
  const exists = await db.schema.hasTable(name);
  if (exists) seen.add(name);
  return exists;
}

/**
 * Shots may start from an imported image: each `image_asset_id` must name an image asset of the
 * same account (404 otherwise, as for any id of another account).
 */
async function checkImageAssets(db: Db, accountId: string, shots: readonly ShotInput[]): Promise<void> {
  const wanted = shots.map((s, i) => ({ id: s.image_asset_id, i })).filter((x): x is { id: string; i: number } => !!x.id);
  if (!wanted.length) return;
  if (!(await hasTable(db, 'assets'))) {
    throw new ValidationError({
      body: wanted.map(({ i }) => ({ path: ['shots', i, 'image_asset_id'], message: 'This server stores no assets yet, so no asset id can be used.', code: 'unknown_asset' })),
    });
  }
  const ids = [...new Set(wanted.map((w) => w.id))];
  const rows = await db('assets').whereIn('id', ids).andWhere({ account_id: accountId }).select('id', 'kind');
  const kinds = new Map(rows.map((r) => [String(r.id), String(r.kind)]));
  const missing = wanted.find((w) => !kinds.has(w.id));
  if (missing) throw new NotFoundError('asset', missing.id);
  const wrongKind: ValidationIssue[] = wanted
    .filter((w) => kinds.get(w.id) !== 'image')
    .map(({ id, i }) => ({ path: ['shots', i, 'image_asset_id'], message: `Asset ${id} is a ${kinds.get(id)}, not an image.`, code: 'asset_not_image' }));
  if (wrongKind.length) throw new ValidationError({ body: wrongKind });
}

function sceneFor(workflowId: string, accountId: string, position: number, shot: ShotInput, now: string): SceneRow {
  return {
    workflow_id: workflowId, account_id: accountId, position, ...newSceneNodeIds(), ...shotFields(shot),
    status: 'draft', image_key: null, clip_key: null, error: null, created_at: now, updated_at: now,
  };
}

export interface CreateWorkflowData {
  name: string;
  description?: string;
  aspect_ratio?: AspectRatio;
  video_model?: string;
  shots: ShotInput[];
}

export async function createWorkflow(db: Db, accountId: string, input: CreateWorkflowData): Promise<WorkflowWithScenes> {
  await checkImageAssets(db, accountId, input.shots);
  const now = nowIso();
  const workflow: WorkflowRow = {
    id: timeOrderedId('wf'), account_id: accountId, name: input.name, description: input.description ?? null,
    aspect_ratio: input.aspect_ratio ?? DEFAULT_ASPECT_RATIO, video_model: input.video_model ?? null, version: 1, created_at: now, updated_at: now,
  };
  const scenes = input.shots.map((shot, i) => sceneFor(workflow.id, accountId, i, shot, now));
  const workflowValues = WORKFLOW_COLUMNS.map((c) => workflow[c]);
  const sceneValues = scenes.flatMap((scene) => SCENE_COLUMNS.map((c) => scene[c]));
  if (dbKind(db) === 'sqlite') {
    // Both INSERTs run synchronously, and creates started in the same turn of the event loop share
    // one COMMIT, each in its own savepoint (src/db/sqlite-group.ts): with time-ordered ids their
    // rows land on the same last pages of each index, so a group writes (and later checkpoints)
    // those pages once instead of ~10 pages per create. Under 16 concurrent clients this halved
    // the server's CPU per create (bench/http.ts --ops create --before, one run: 0.50-0.57x).
    await sqliteGroupWork(db, (q) => {
      q.run(INSERT_WORKFLOW, workflowValues);
      if (scenes.length) q.run(insertScenes(scenes.length), sceneValues);
    });
  } else {
    await fastTransaction(db, async (trx) => {
      await fastRun(trx, INSERT_WORKFLOW, workflowValues);
      if (scenes.length) await fastRun(trx, insertScenes(scenes.length), sceneValues);
    });
  }
  return { workflow, scenes };
}

export interface UpdateWorkflowData {
  name?: string;
  description?: string | null;
  aspect_ratio?: AspectRatio;
  video_model?: string | null;
  shots?: ShotInput[];
}

/**
 * Applies an edit if the workflow is still at `expectedVersions` (any of them; null = no
 * precondition). The version check and the increment are one conditional UPDATE, inside a
 * transaction that also replaces the scenes, so two editors can never both win.
 */
export async function updateWorkflow(
  db: Db, accountId: string, id: string, patch: UpdateWorkflowData, expectedVersions: number[] | null,
): Promise<WorkflowWithScenes> {
  if (patch.shots) await checkImageAssets(db, accountId, patch.shots);
  return db.transaction(async (trx) => {
    const current = await findWorkflow(trx, accountId, id, { lock: true });
    if (expectedVersions && !expectedVersions.includes(current.version)) throw stale(current.version, expectedVersions);
    const reason = await busyReason(trx, id);
    if (reason) throw busy(id, reason);
    const now = nowIso();
    const changes: Partial<WorkflowRow> = { updated_at: now, version: current.version + 1 };
    if (patch.name !== undefined) changes.name = patch.name;
    if (patch.description !== undefined) changes.description = patch.description;
    if (patch.aspect_ratio !== undefined) changes.aspect_ratio = patch.aspect_ratio;
    if (patch.video_model !== undefined) changes.video_model = patch.video_model;
    const n = await trx('workflows').where({ id, account_id: accountId, version: current.version }).update(changes);
    if (n !== 1) {
      const now2 = await findWorkflow(trx, accountId, id);
      throw stale(now2.version, expectedVersions ?? [current.version]);
    }
    const reframed = patch.aspect_ratio !== undefined && patch.aspect_ratio !== current.aspect_ratio;
    if (patch.shots) await replaceScenes(trx, current, patch.shots, now, reframed);
    else if (reframed) await resetScenes(trx, id, now);
    return { workflow: { ...current, ...changes } as WorkflowRow, scenes: await listScenes(trx, id) };
  });
}

const RESET = { status: 'draft', image_key: null, clip_key: null, error: null } as const;

/** Clips made for another frame shape do not fit the new one: every scene goes back to draft. */
async function resetScenes(trx: Db, workflowId: string, now: string): Promise<void> {
  await trx('workflow_scenes').where({ workflow_id: workflowId }).update({ ...RESET, updated_at: now });
}

/**
 * Scenes keep their node ids by position. A scene whose shot is unchanged keeps its artifacts;
 * a changed one returns to draft; extra positions are added or removed.
 */
async function replaceScenes(trx: Db, wf: WorkflowRow, shots: ShotInput[], now: string, resetAll: boolean): Promise<void> {
  const existing = await listScenes(trx, wf.id);
  const inserts: SceneRow[] = [];
  for (let i = 0; i < shots.length; i++) {
    const shot = shots[i]!;
    const scene = existing[i];
    if (!scene) {
      inserts.push(sceneFor(wf.id, wf.account_id, i, shot, now));
    } else if (resetAll || !sameShot(scene, shot)) {
      await trx('workflow_scenes').where({ workflow_id: wf.id, node_id: scene.node_id })
        .update({ ...shotFields(shot), ...RESET, updated_at: now });
    }
  }
  await trx('workflow_scenes').where({ workflow_id: wf.id }).andWhere('position', '>=', shots.length).del();
  if (inserts.length) await trx('workflow_scenes').insert(inserts);
}

export async function deleteWorkflow(db: Db, accountId: string, id: string): Promise<void> {
  await db.transaction(async (trx) => {
    await findWorkflow(trx, accountId, id, { lock: true });
    const reason = await busyReason(trx, id);
    if (reason) throw busy(id, reason);
    await trx('workflow_scenes').where({ workflow_id: id }).del();
    await trx('workflows').where({ id, account_id: accountId }).del();
  });
}

export async function listWorkflowSummaries(
  db: Db, accountId: string, page: { limit?: number; cursor?: string | null; secret: string },
): Promise<Page<WorkflowSummaryRow>> {
  const counts = (alias: string, generatedOnly: boolean) => {
    const q = db(`workflow_scenes as ${alias}`).count('*').where(`${alias}.workflow_id`, db.ref('w.id'));
    if (generatedOnly) q.andWhere(`${alias}.status`, 'generated');
    return q;
  };
  const query = db('workflows as w')
    .where('w.account_id', accountId)
    .select('w.*', counts('s1', false).as('scene_count'), counts('s2', true).as('scenes_generated'));
  return paginate<Record<string, unknown>, WorkflowSummaryRow>(query, {
    limit: page.limit, cursor: page.cursor, secret: page.secret, scope: `workflows:${accountId}`,
    keys: [{ column: 'w.created_at' }, { column: 'w.id' }],
    map: (r) => ({ ...toWorkflowRow(r), scene_count: Number(r.scene_count), scenes_generated: Number(r.scenes_generated) }),
  });
}

function stale(current: number, expected: number[]): PreconditionFailedError {
  // No version at all: the caller's conditions named none, or two of them named different ones.
  const message = expected.length
    ? `The workflow changed: this edit is based on version ${expected.join(' or ')}, but it is now at version ${current}. Re-read it and retry.`
    : `This edit names no version it could apply to (its version conditions name none, or disagree with each other); the workflow is at version ${current}. Re-read it and retry with that version.`;
  return new PreconditionFailedError(message, { current_version: current });
}

function busy(id: string, reason: string): DomainError {
  return new DomainError('workflow_busy', `Workflow ${id} cannot be changed now: ${reason}.`, { id });
}

/**
 * The versions an `If-Match` header allows: `"3"`, `W/"3"`, `3`, or a list of those; `*` allows
 * any (null). A value naming no version can never match: an empty list.
 */
export function parseIfMatch(header: string | undefined): number[] | null {
  if (header === undefined) return null;
  const trimmed = header.trim();
  if (trimmed === '*') return null;
  const versions: number[] = [];
  for (const part of trimmed.split(',')) {
    const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(part);
    if (m) versions.push(Number(m[1]));
  }
  return versions;
}
