/**
 * Rows of `renders` (migration 008) and the figures a render reports. A render holds no money of
 * its own: what it charged and still holds is read from the scenes of its generation, whose
 * reservations carry the credits (src/generation), so the two can never disagree.
 */
import type { Knex } from 'knex';
import type { Db } from '../db/knex.js';
import { DomainError, NotFoundError } from '../errors.js';
import { paginate, type Page } from '../db/pagination.js';
import { FileStorage, type Storage } from '../storage/index.js';
import type { RenderPlan } from './plan.js';

type Handle = Db | Knex.Transaction;

export type RenderStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
export const ACTIVE_RENDER: RenderStatus[] = ['queued', 'running'];

export interface RenderError {
  code: string;
  message: string;
}

export interface RenderRow {
  id: string;
  account_id: string;
  workflow_id: string;
  workflow_version: number;
  status: RenderStatus;
  progress: number;
  label: string | null;
  generation_id: string | null;
  job_id: string | null;
  plan: RenderPlan;
  width: number;
  height: number;
  scene_count: number;
  scenes_reused: number;
  output_key: string | null;
  duration_s: number | null;
  error: RenderError | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** What the render's generation has charged, still holds, and delivered. */
export interface RenderMoney {
  credits_charged: number;
  credits_reserved: number;
  scenes_generated: number;
}

const NO_MONEY: RenderMoney = { credits_charged: 0, credits_reserved: 0, scenes_generated: 0 };

function parseJson<T>(text: unknown, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  try {
    return JSON.parse(String(text)) as T;
  } catch {
    return fallback;
  }
}

export function toRender(r: Record<string, unknown>): RenderRow {
  return {
    id: String(r.id),
    account_id: String(r.account_id),
    workflow_id: String(r.workflow_id),
    workflow_version: Number(r.workflow_version),
    status: r.status as RenderStatus,
    progress: Number(r.progress),
    label: (r.label as string | null) ?? null,
    generation_id: (r.generation_id as string | null) ?? null,
    job_id: (r.job_id as string | null) ?? null,
    plan: parseJson<RenderPlan>(r.plan, { duration_s: 0, clips: [], tracks: [] }),
    width: Number(r.width),
    height: Number(r.height),
    scene_count: Number(r.scene_count),
    scenes_reused: Number(r.scenes_reused),
    output_key: (r.output_key as string | null) ?? null,
    duration_s: r.duration_s === null || r.duration_s === undefined ? null : Number(r.duration_s),
    error: parseJson<RenderError | null>(r.error, null),
    created_at: String(r.created_at),
    updated_at: String(r.updated_at),
    started_at: (r.started_at as string | null) ?? null,
    finished_at: (r.finished_at as string | null) ?? null,
  };
}

export async function getRenderById(db: Handle, id: string): Promise<RenderRow | null> {
  const row = await db('renders').where({ id }).first();
  return row ? toRender(row) : null;
}

/** A render of the account's workflow; any other id (another account's, another workflow's) is 404. */
export async function findRender(db: Handle, accountId: string, workflowId: string, renderId: string): Promise<RenderRow> {
  const row = await db('renders').where({ id: renderId, workflow_id: workflowId, account_id: accountId }).first();
  if (!row) throw new NotFoundError('render', renderId);
  return toRender(row);
}

export async function activeRender(db: Handle, workflowId: string): Promise<RenderRow | null> {
  const row = await db('renders').where({ workflow_id: workflowId }).whereIn('status', ACTIVE_RENDER).first();
  return row ? toRender(row) : null;
}

/** The workflow's newest succeeded render, or null. */
export async function latestSucceededRender(db: Handle, accountId: string, workflowId: string): Promise<RenderRow | null> {
  const row = await db('renders')
    .where({ workflow_id: workflowId, account_id: accountId, status: 'succeeded' })
    .orderBy([{ column: 'finished_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .first();
  return row ? toRender(row) : null;
}

/** The latest finished render as publishing needs it (src/publish's FinishedRender), or null. */
export async function latestFinishedRender(
  db: Handle, storage: Storage, accountId: string, workflowId: string,
): Promise<{ id: string; status: string; path: string; url: string; durationS: number | null } | null> {
  const r = await latestSucceededRender(db, accountId, workflowId);
  if (!r?.output_key) return null;
  return { id: r.id, status: r.status, path: storage instanceof FileStorage ? storage.pathFor(r.output_key) : `store:${r.output_key}`, url: storage.signedUrl(r.output_key), durationS: r.duration_s };
}

export function noFinishedRender(workflowId: string): DomainError {
  return new DomainError('no_finished_render', `Workflow ${workflowId} has no finished render yet; render it with create_render and wait until it succeeds.`, {
    workflow_id: workflowId,
  });
}

/** Money and delivered scenes per generation, for the renders given (one query). */
export async function moneyOf(db: Handle, renders: RenderRow[]): Promise<Map<string, RenderMoney>> {
  const ids = [...new Set(renders.map((r) => r.generation_id).filter((g): g is string => g !== null))];
  const out = new Map<string, RenderMoney>();
  if (!ids.length) return out;
  const rows = (await db('generation_scenes')
    .whereIn('generation_id', ids)
    .groupBy('generation_id')
    .select(
      'generation_id',
      db.raw('sum(credits_charged) as charged'),
      db.raw("sum(case when status in ('queued', 'running') then credits else 0 end) as reserved"),
      db.raw("sum(case when status = 'generated' then 1 else 0 end) as generated"),
    )) as Array<{ generation_id: string; charged: unknown; reserved: unknown; generated: unknown }>;
  for (const r of rows) {
    out.set(r.generation_id, { credits_charged: Number(r.charged ?? 0), credits_reserved: Number(r.reserved ?? 0), scenes_generated: Number(r.generated ?? 0) });
  }
  return out;
}

export function moneyFor(money: Map<string, RenderMoney>, render: RenderRow): RenderMoney {
  return (render.generation_id && money.get(render.generation_id)) || NO_MONEY;
}

export async function listRenderRows(
  db: Db,
  q: { accountId: string; workflowId?: string; status?: RenderStatus; limit?: number; cursor?: string | null; secret: string },
): Promise<Page<RenderRow>> {
  const query = db('renders').where({ account_id: q.accountId });
  if (q.workflowId) query.andWhere({ workflow_id: q.workflowId });
  if (q.status) query.andWhere({ status: q.status });
  const scope = q.workflowId ? `renders:${q.accountId}:${q.workflowId}` : `renders:${q.accountId}:${q.status ?? '*'}`;
  return paginate<Record<string, unknown>, RenderRow>(query, {
    limit: q.limit, cursor: q.cursor, secret: q.secret, scope,
    keys: [{ column: 'created_at' }, { column: 'id' }],
    map: toRender,
  });
}
