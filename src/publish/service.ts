import type { Knex } from 'knex';
import { rows as fastRows, sql } from '../db/fast.js';
import { nowIso } from '../db/knex.js';
import { DomainError, NotFoundError, ValidationError } from '../errors.js';
import { StorageUnavailableError, type LocalFile, type Storage } from '../storage/index.js';
import { newId } from '../util/ids.js';
import { emitEvent } from '../webhooks/events.js';
import { keysetPage, type Page, type PageQuery } from '../webhooks/page.js';
import { enqueueJob, JOB_TYPES } from '../webhooks/queue.js';
import { getChannel, loadChannelForPublish, updateChannelCredentials } from './channels.js';
import type { SecretsOptions } from './credentials.js';
import { createPublishers, type Publishers } from './publishers.js';
import { PublishError, type Platform } from './types.js';

export { connectChannel, listChannels } from './channels.js';

type PublicationStatus = 'scheduled' | 'publishing' | 'published' | 'failed' | 'canceled';

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
  /** Where a render recorded as `store:<key>` (the S3 driver) is fetched from. */
  storage?: Storage;
}

/**
 * The render's file on the local disk: `video_path` is an absolute path (the local driver) or
 * `store:<key>` (an object store), which is copied to scratch for the platform upload.
 */
async function videoFile(videoPath: string, storage: Storage | undefined): Promise<LocalFile> {
  if (!videoPath.startsWith('store:')) return { path: videoPath, release: async () => {} };
  if (!storage) throw new Error('this publication\'s render is in object storage, but no storage is configured here');
  return storage.localCopy(videoPath.slice('store:'.length));
}

const FINISHED = new Set(['succeeded', 'completed', 'finished', 'done', 'ready']);
const DAY = 86_400_000;

let defaultPublishers: Publishers | null = null;
/** The configured publishers, or (a caller that configured none) the platforms' public APIs. */
function publishersOf(options: PublishOptions): Publishers {
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
export function resolveWhen(when: string | Date | null | undefined, options: PublishOptions = {}, now = Date.now()): Date {
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
  const id = newId('pub');
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
  return getPublication(db, input.accountId, id);
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

function eventData(p: Publication): Record<string, unknown> {
  return {
    publication_id: p.id, workflow_id: p.workflow_id, channel_id: p.channel_id, platform: p.platform,
    render_id: p.render_id, status: p.status, url: p.published_url, error: p.error,
  };
}

/** A stable code for the publication's `error.code`. */
function errorCodeOf(err: PublishError): string {
  if (err.httpStatus === 401 || err.httpStatus === 403) return 'channel_auth_failed';
  if (err.retryable) return 'platform_unavailable';
  return 'platform_rejected';
}

type FailedAttempt = { ok: false; code: string; error: string; retryable: boolean };

/**
 * How a failed attempt is recorded. The media store failing while the render is fetched happens
 * before the platform is called, so it is retried like a platform's 503: the store may be back on
 * the next attempt, and nothing can have been posted.
 */
function failedAttempt(err: unknown, scrub: (text: string) => string): FailedAttempt {
  if (err instanceof PublishError) return { ok: false, code: errorCodeOf(err), error: scrub(err.message), retryable: err.retryable };
  if (err instanceof StorageUnavailableError) return { ok: false, code: 'storage_unavailable', error: err.message, retryable: true };
  return { ok: false, code: 'publish_failed', error: scrub(`Publishing failed: ${(err as Error).message}`), retryable: false };
}

export type RunOutcome = PublicationStatus | 'not_claimed' | 'not_due' | 'retry_scheduled';

/**
 * The job handler for `publication.run`. The conditional update scheduled -> publishing is the one
 * claim: on any database and across processes only one runner gets it, so the platform is called at
 * most once per claim. A retry is scheduled only for failures the platform cannot have acted on.
 * The outcome and its webhook event are written in one transaction.
 */
export async function runPublication(db: Knex, id: string, options: PublishOptions = {}): Promise<RunOutcome> {
  const now = new Date();
  const pub = await db('publications').where({ id }).first('id', 'account_id', 'status', 'scheduled_for', 'attempts');
  if (!pub || pub.status !== 'scheduled') return 'not_claimed';
  if (new Date(pub.scheduled_for).getTime() > now.getTime() + 1000) {
    // Fired early (clock skew, or a sweeper): leave it scheduled and make sure a job waits for it.
    await enqueueJob(db, {
      type: JOB_TYPES.runPublication, payload: { publicationId: id }, runAt: new Date(pub.scheduled_for),
      dedupeKey: `${JOB_TYPES.runPublication}:${id}:${pub.scheduled_for}`,
    });
    return 'not_due';
  }
  const claim = newId('clm');
  const claimed = await db('publications')
    .where({ id, status: 'scheduled' })
    .update({ status: 'publishing', claim_token: claim, started_at: now.toISOString(), updated_at: now.toISOString() });
  if (claimed !== 1) return 'not_claimed';

  const row = await db('publications').where({ id }).first();
  let outcome: { ok: true; externalId: string; url: string } | FailedAttempt;
  let secretValues: string[] = [];
  let video: LocalFile | null = null;
  try {
    video = await videoFile(row.video_path, options.storage);
    const channel = await loadChannelForPublish(db, row.channel_id, options.secrets);
    secretValues = Object.values(channel.credentials).filter((v): v is string => typeof v === 'string' && v.length >= 6);
    const result = await publishersOf(options)[channel.platform].publish({
      video: { path: video.path, url: row.video_url ?? null, durationS: row.video_duration_s == null ? null : Number(row.video_duration_s) },
      title: row.title ?? null,
      caption: row.caption ?? null,
      channel,
      publicationId: id,
      onCredentialsRefreshed: async (credentials) => {
        secretValues.push(...Object.values(credentials).filter((v): v is string => typeof v === 'string' && v.length >= 6));
        await updateChannelCredentials(db, channel.id, credentials, options.secrets);
      },
    });
    outcome = { ok: true, ...result };
  } catch (err) {
    // The message is shown to the user and sent in webhooks: no credential may survive in it, even
    // if a platform echoed one back.
    const scrub = (text: string) => secretValues.reduce((t, v) => t.split(v).join('[redacted]'), text);
    outcome = failedAttempt(err, scrub);
  } finally {
    await video?.release();
  }

  return db.transaction(async (trx) => {
    const at = nowIso();
    const guard = { id, status: 'publishing', claim_token: claim };
    if (outcome.ok) {
      await trx('publications').where(guard).update({
        status: 'published', published_url: outcome.url, external_id: outcome.externalId, error_code: null, error: null, published_at: at, updated_at: at,
      });
    } else if (outcome.retryable && Number(row.attempts) < (options.maxRetries ?? 3)) {
      const attempts = Number(row.attempts) + 1;
      const next = new Date(Date.now() + (options.retryBaseMs ?? 60_000) * 2 ** (attempts - 1));
      await trx('publications').where(guard).update({
        status: 'scheduled', claim_token: null, attempts, error_code: outcome.code, error: outcome.error, scheduled_for: next.toISOString(), updated_at: at,
      });
      await enqueueJob(trx, {
        type: JOB_TYPES.runPublication, payload: { publicationId: id }, runAt: next,
        dedupeKey: `${JOB_TYPES.runPublication}:${id}:retry:${attempts}`,
      });
      return 'retry_scheduled';
    } else {
      await trx('publications').where(guard).update({ status: 'failed', error_code: outcome.code, error: outcome.error, updated_at: at });
    }
    const done = await getPublication(trx, row.account_id, id);
    await emitEvent(trx, {
      accountId: row.account_id,
      type: done.status === 'published' ? 'publication.published' : 'publication.failed',
      payload: eventData(done),
    });
    return done.status;
  });
}

/**
 * A publication stuck in `publishing` (its runner died mid-upload) is marked failed, never run
 * again: whether the platform created the post is unknown, and posting twice is worse than asking
 * the user to check.
 */
export async function failStalePublications(db: Knex, options: PublishOptions = {}): Promise<number> {
  const before = new Date(Date.now() - (options.staleAfterMs ?? 2 * 3_600_000)).toISOString();
  const stale = (await db('publications').where({ status: 'publishing' }).andWhere('started_at', '<', before)
    .select('id', 'account_id', 'claim_token')) as { id: string; account_id: string; claim_token: string }[];
  let failed = 0;
  for (const s of stale) {
    await db.transaction(async (trx) => {
      const at = nowIso();
      const changed = await trx('publications').where({ id: s.id, status: 'publishing', claim_token: s.claim_token }).update({
        status: 'failed', updated_at: at, error_code: 'publish_interrupted',
        error: 'Publishing was interrupted; the post may or may not exist on the platform. Check the channel before publishing again.',
      });
      if (!changed) return;
      failed++;
      await emitEvent(trx, { accountId: s.account_id, type: 'publication.failed', payload: eventData(await getPublication(trx, s.account_id, s.id)) });
    });
  }
  return failed;
}

/** Sweeper: runs every due scheduled publication (each still claimed once) and fails stale ones. */
export async function runDuePublications(db: Knex, options: PublishOptions = {}, limit = 20): Promise<RunOutcome[]> {
  await failStalePublications(db, options);
  const due = (await db('publications').where({ status: 'scheduled' }).andWhere('scheduled_for', '<=', nowIso())
    .orderBy('scheduled_for').limit(limit).pluck('id')) as string[];
  const outcomes: RunOutcome[] = [];
  for (const id of due) outcomes.push(await runPublication(db, id, options));
  return outcomes;
}
