import type { Knex } from 'knex';
import { rows as fastRows, sql } from '../db/fast.js';
import { nowIso } from '../db/knex.js';
import { DomainError, NotFoundError, ValidationError } from '../errors.js';
import type { Storage } from '../storage/index.js';
import { newId } from '../util/ids.js';
import { emitEvent } from '../webhooks/events.js';
import { keysetPage, type Page, type PageQuery } from '../webhooks/page.js';
import { enqueueJob, JOB_TYPES } from '../webhooks/queue.js';
import { getChannel } from './channels.js';
import type { SecretsOptions } from './credentials.js';
import { createPublishers, type Publishers } from './publishers.js';
import type { Platform } from './types.js';
import { clusterNow } from '../db/cluster-time.js';

export { connectChannel, listChannels } from './channels.js';

export type PublicationStatus = 'scheduled' | 'publishing' | 'published' | 'failed' | 'canceled';

export interface Publication {
  id: string;
  workflow_id: string;
  channel_id: string;
  platform: Platform;
  render_id: string;
  status: PublicationStatus;
  /** When the post goes out; null for an immediate post. */
  scheduled_for: string | null;
  title: string | null;
  caption: string | null;
  published_url: string | null;
  /** Always true: every adapter sets the platform's AI-generated-content flag. */
  ai_disclosure: true;
  error: { code: string; message: string } | null;
  created_at: string;
  updated_at: string;
}

/** The render to publish, as the renders module describes its latest finished one. */
export interface FinishedRender {
  id: string;
  /** When given, must say the render finished. */
  status?: string;
  path: string;
  url?: string | null;
  durationS?: number | null;
}

export interface PublishOptions {
  publishers?: Publishers;
  secrets?: SecretsOptions;
  /** `when` may be at most this far in the past (clock skew), default 1 min. */
  pastSkewMs?: number;
  /** ... and at most this far ahead, default 90 days. */
  maxAheadMs?: number;
  /** Retries of failures the platform cannot have acted on (before any bytes), default 3. */
  maxRetries?: number;
  /** Delay before such a retry, doubled each time, default 60 s. */
  retryBaseMs?: number;
  /** A publication left `publishing` this long (its runner died) is failed, never re-posted. Default 2 h. */
  staleAfterMs?: number;
  /** A running publication renews its heartbeat this often, default 60 s (src/publish/heartbeat.ts). */
  heartbeatMs?: number;
  /** A stale-looking run is failed only once seen unrenewed this long, default 5 min. */
  staleConfirmMs?: number;
  /** Where a render recorded as `store:<key>` (the S3 driver) is fetched from. */
  storage?: Storage;
}

const FINISHED = new Set(['succeeded', 'completed', 'finished', 'done', 'ready']);
const DAY = 86_400_000;

let defaultPublishers: Publishers | null = null;
/** The configured publishers, or (a caller that configured none) the platforms' public APIs. */
export function publishersOf(options: PublishOptions): Publishers {
  if (options.publishers) return options.publishers;
  defaultPublishers ??= createPublishers({ dataDir: options.secrets?.dataDir ?? './data' });
  return defaultPublishers;
}

const COLUMNS = [
  'publications.id', 'publications.workflow_id', 'publications.channel_id', 'channels.platform', 'publications.render_id',
  'publications.status', 'publications.scheduled_for', 'publications.immediate', 'publications.title', 'publications.caption',
  'publications.published_url', 'publications.external_id', 'publications.error_code', 'publications.error',
  'publications.created_at', 'publications.updated_at',
];

interface PublicationRow {
  id: string; workflow_id: string; channel_id: string; platform: Platform; render_id: string; status: PublicationStatus;
  scheduled_for: string; immediate: boolean | number; title: string | null; caption: string | null;
  published_url: string | null; external_id: string | null; error_code: string | null; error: string | null;
  created_at: string; updated_at: string;
}

function query(db: Knex | Knex.Transaction) {
  return db('publications').join('channels', 'channels.id', 'publications.channel_id');
}

function toPublication(row: PublicationRow): Publication {
  return {
    id: row.id,
    workflow_id: row.workflow_id,
    channel_id: row.channel_id,
    render_id: row.render_id,
    platform: row.platform,
    status: row.status,
    scheduled_for: Number(row.immediate) ? null : row.scheduled_for,
    title: row.title ?? null,
    caption: row.caption ?? null,
    published_url: row.published_url ?? null,
    ai_disclosure: true,
    error: row.error ? { code: row.error_code ?? 'publish_failed', message: row.error } : null,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** When the post should go out: now, or a valid `when` not in the past and not absurdly far off. */
export function resolveWhen(when: string | Date | null | undefined, options: PublishOptions = {}, now = clusterNow()): Date {
  if (when === null || when === undefined || when === '') return new Date(now);
  const at = when instanceof Date ? when : new Date(when);
  if (Number.isNaN(at.getTime()) || (typeof when === 'string' && !/^\d{4}-\d{2}-\d{2}T/.test(when))) {
    const message = `'when' must be an ISO 8601 date-time such as 2030-01-02T09:00:00Z.`;
    throw new ValidationError({ body: [{ path: ['when'], code: 'invalid_date', message }] }, message);
  }
  const skew = options.pastSkewMs ?? 60_000;
  const ahead = options.maxAheadMs ?? 90 * DAY;
  if (at.getTime() < now - skew) {
    const nowIso = new Date(now).toISOString();
    throw new DomainError('schedule_in_past', `'when' (${at.toISOString()}) is before now (${nowIso}, server time); give a later time, or omit it to post now.`, { field: 'when', now: nowIso });
  }
  if (at.getTime() > now + ahead) {
    throw new DomainError('schedule_too_far', `'when' may be at most ${Math.round(ahead / DAY)} days ahead.`, { field: 'when', max_days: Math.round(ahead / DAY) });
  }
  return new Date(Math.max(at.getTime(), now));
}

export interface RequestPublicationInput {
  accountId: string;
  workflowId: string;
  channelId: string;
  caption?: string | null;
  title?: string | null;
  when?: string | Date | null;
  /** The workflow's latest finished render, or null when it has none. */
  latestRender: FinishedRender | null;
  /**
   * The request's Idempotency-Key and how long it replays: a second request with it within that
   * window (a retry that ran again because the first one's answer was never stored) gets the
   * publication the first made, not a second post. The idempotency claim lets one run at a time.
   */
  requestKey?: { key: string; windowS: number } | null;
}

/**
 * publish_video / schedule_video: records the publication and enqueues its one run at its time, in
 * one transaction. The caller names only the channel and the text; the rest comes from the render.
 */
export async function requestPublication(db: Knex, input: RequestPublicationInput, options: PublishOptions = {}): Promise<Publication> {
  const render = input.latestRender;
  if (!render || (render.status !== undefined && !FINISHED.has(render.status))) {
    throw new DomainError('no_finished_render', 'This workflow has no finished render to publish; render it first (create_render) and wait for it to succeed.', {
      workflow_id: input.workflowId,
    });
  }
  const runAt = resolveWhen(input.when, options);
  const made = input.requestKey ? await madeWithKey(db, input.accountId, input.requestKey) : null;
  if (made) return made;
  const id = newId('pub');
  await insertPublication(db, id, input, render, runAt, input.requestKey?.key ?? null);
  return getPublication(db, input.accountId, id);
}

async function madeWithKey(db: Knex, accountId: string, requestKey: { key: string; windowS: number }): Promise<Publication | null> {
  const since = new Date(clusterNow() - requestKey.windowS * 1000).toISOString();
  const row = await db('publications').where({ account_id: accountId, request_key: requestKey.key })
    .andWhere('created_at', '>=', since).orderBy('created_at', 'desc').first('id');
  return row ? getPublication(db, accountId, row.id) : null;
}

async function insertPublication(
  db: Knex, id: string, input: RequestPublicationInput, render: FinishedRender, runAt: Date, requestKey: string | null,
): Promise<void> {
  await db.transaction(async (trx) => {
    const channel = await getChannel(trx, input.accountId, input.channelId);
    const now = nowIso();
    await trx('publications').insert({
      id,
      account_id: input.accountId,
      workflow_id: input.workflowId,
      channel_id: channel.id,
      render_id: render.id,
      video_path: render.path,
      video_url: render.url ?? null,
      video_duration_s: render.durationS ?? null,
      status: 'scheduled',
      scheduled_for: runAt.toISOString(),
      immediate: !input.when,
      title: input.title?.trim() || null,
      caption: input.caption?.trim() || null,
      attempts: 0,
      request_key: requestKey,
      created_at: now,
      updated_at: now,
    });
    await enqueueJob(trx, {
      type: JOB_TYPES.runPublication,
      payload: { publicationId: id },
      runAt,
      dedupeKey: `${JOB_TYPES.runPublication}:${id}`,
    });
    if (input.when) {
      await emitEvent(trx, {
        accountId: input.accountId,
        type: 'publication.scheduled',
        payload: { publication_id: id, workflow_id: input.workflowId, channel_id: channel.id, platform: channel.platform, scheduled_for: runAt.toISOString() },
      });
    }
  });
}

export async function getPublication(db: Knex | Knex.Transaction, accountId: string, id: string): Promise<Publication> {
  const row = await query(db).where({ 'publications.account_id': accountId, 'publications.id': id }).first(...COLUMNS);
  if (!row) throw new NotFoundError('publication', id);
  return toPublication(row as PublicationRow);
}

export interface ListPublicationsQuery extends PageQuery {
  accountId: string;
  workflowId?: string;
  status?: PublicationStatus;
}

export async function listPublications(db: Knex, q: ListPublicationsQuery): Promise<Page<Publication>> {
  const builder = query(db).where('publications.account_id', q.accountId).select(...COLUMNS);
  if (q.workflowId) builder.andWhere('publications.workflow_id', q.workflowId);
  if (q.status) builder.andWhere('publications.status', q.status);
  return keysetPage(builder, 'publications', `publications:${q.accountId}:${q.workflowId ?? '*'}:${q.status ?? '*'}`, q, toPublication);
}

/** A workflow's newest publications (for get_workflow, whose readers may have no get_publication). */
export async function recentWorkflowPublications(db: Knex, accountId: string, workflowId: string, limit = 10): Promise<Publication[]> {
  const found = await fastRows<PublicationRow>(db, recentForWorkflow(limit), [accountId, workflowId]);
  return found.map(toPublication);
}

/**
 * On every get_workflow, so run without knex's builder (src/db/fast.ts). The limit is part of the
 * text, not a parameter: SQLite runs `limit ?` several times slower here (~12 us against ~4 us).
 */
const recentStatements = new Map<number, ReturnType<typeof sql>>();
function recentForWorkflow(limit: number) {
  const n = Math.max(1, Math.trunc(limit));
  let statement = recentStatements.get(n);
  if (!statement) {
    statement = sql(`select ${COLUMNS.map((c) => c.split('.').map((part) => `"${part}"`).join('.')).join(', ')}`
      + ' from "publications" inner join "channels" on "channels"."id" = "publications"."channel_id"'
      + ' where "publications"."account_id" = ? and "publications"."workflow_id" = ?'
      + ` order by "publications"."created_at" desc, "publications"."id" desc limit ${n}`);
    recentStatements.set(n, statement);
  }
  return statement;
}

/**
 * Cancels a publication that has not started; once it is publishing it can no longer be stopped.
 * Canceling a canceled publication answers it unchanged. Its queued job finds nothing to claim.
 */
export async function cancelPublication(db: Knex, accountId: string, id: string): Promise<Publication> {
  return db.transaction(async (trx) => {
    const now = nowIso();
    const changed = await trx('publications')
      .where({ account_id: accountId, id, status: 'scheduled' })
      .update({ status: 'canceled', canceled_at: now, updated_at: now });
    const current = await getPublication(trx, accountId, id);
    if (changed) {
      await emitEvent(trx, { accountId, type: 'publication.canceled', payload: eventData(current) });
    } else if (current.status !== 'canceled') {
      throw new DomainError('not_cancelable', `This publication is ${current.status}; only a scheduled publication can be canceled.`, {
        publication_id: id, status: current.status,
      });
    }
    return current;
  });
}

/** For delete_workflow: cancels the workflow's scheduled publications in the caller's transaction. */
export async function cancelWorkflowPublications(trx: Knex | Knex.Transaction, accountId: string, workflowId: string): Promise<number> {
  const ids = (await trx('publications').where({ account_id: accountId, workflow_id: workflowId, status: 'scheduled' }).pluck('id')) as string[];
  let canceled = 0;
  for (const id of ids) {
    const now = nowIso();
    const changed = await trx('publications').where({ id, status: 'scheduled' }).update({ status: 'canceled', canceled_at: now, updated_at: now });
    if (!changed) continue;
    canceled++;
    await emitEvent(trx, { accountId, type: 'publication.canceled', payload: eventData(await getPublication(trx, accountId, id)) });
  }
  return canceled;
}

export function eventData(p: Publication): Record<string, unknown> {
  return {
    publication_id: p.id, workflow_id: p.workflow_id, channel_id: p.channel_id, platform: p.platform,
    render_id: p.render_id, status: p.status, url: p.published_url, error: p.error,
  };
}
