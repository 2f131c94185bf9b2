/**
 * Running a publication: fetching the render, calling the platform once per claim, and recording
 * the outcome (published, a retry, or failed) with its webhook event.
 */
import type { Knex } from 'knex';
import { nowIso } from '../db/knex.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { StorageUnavailableError, type LocalFile, type Storage } from '../storage/index.js';
import { newId } from '../util/ids.js';
import { withoutLocalPaths } from '../util/local-paths.js';
import { emitEvent } from '../webhooks/events.js';
import { enqueueJob, JOB_TYPES } from '../webhooks/queue.js';
import { loadChannelForPublish, updateChannelCredentials } from './channels.js';
import { reopenUnposted, rescheduleUnposted } from './interrupted.js';
import { eventData, getPublication, publishersOf, type PublicationStatus, type PublishOptions } from './service.js';
import { PublishError } from './types.js';
import { clusterDate, clusterNow } from '../db/cluster-time.js';
import { beatWhileRunning, seenUnrenewed } from './heartbeat.js';

/**
 * The render's file on the local disk: `video_path` is an absolute path (the local driver) or
 * `store:<key>` (an object store), which is copied to scratch for the platform upload.
 */
async function videoFile(videoPath: string, storage: Storage | undefined): Promise<LocalFile> {
  if (!videoPath.startsWith('store:')) return { path: videoPath, release: async () => {} };
  if (!storage) throw new Error('this publication\'s render is in object storage, but no storage is configured here');
  return storage.localCopy(videoPath.slice('store:'.length));
}

/** A stable code for the publication's `error.code`. */
function errorCodeOf(err: PublishError): string {
  if (err.httpStatus === 401 || err.httpStatus === 403) return 'channel_auth_failed';
  if (err.retryable) return 'platform_unavailable';
  return 'platform_rejected';
}

type FailedAttempt = { ok: false; code: string; error: string; retryable: boolean };

/**
 * How a failed attempt is recorded. The media store or the database failing before the platform
 * is called (`posting` false) is retried like a platform's 503: it may be back on the next
 * attempt, and nothing can have been posted.
 */
function failedAttempt(err: unknown, scrub: (text: string) => string, posting: boolean): FailedAttempt {
  if (!posting && isDatabaseUnavailable(err)) {
    return { ok: false, code: 'database_unavailable', error: 'The database was unavailable before the video was sent; it will be tried again.', retryable: true };
  }
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
 *
 * The claim records the step 'fetching'; just before the platform is called the run moves it to
 * 'posting' under its claim. A run that died in 'fetching' has posted nothing: a later run of the
 * job takes the publication over (src/publish/interrupted.ts), and the earlier run, if it was only
 * slow, finds its claim gone at that step and stops.
 *
 * `job` is given by the job queue: its signal stops the run before it posts (the worker is
 * stopping, or lost the lease), and a publishing row still in 'fetching' is taken over, since the
 * job runs again only when its earlier attempt died, failed or lost its lease. Other callers (the
 * sweeper) leave such a row alone.
 */
export async function runPublication(
  db: Knex, id: string, options: PublishOptions = {}, job?: { signal: AbortSignal },
): Promise<RunOutcome> {
  const now = clusterDate();
  const signal = job?.signal;
  const pub = await db('publications').where({ id }).first('id', 'status', 'scheduled_for', 'publish_step', 'claim_token');
  if (job && pub?.status === 'publishing' && pub.publish_step === 'fetching') {
    // An earlier attempt of this job stopped before it called the platform: run it again.
    if (!(await reopenUnposted(db, id, pub.claim_token))) return 'not_claimed';
    pub.status = 'scheduled';
  }
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
    .update({ status: 'publishing', publish_step: 'fetching', claim_token: claim, started_at: now.toISOString(), updated_at: now.toISOString() });
  if (claimed !== 1) return 'not_claimed';
  const heartbeat = beatWhileRunning(db, id, claim, options.heartbeatMs);
  try {
    return await runClaimed(db, id, claim, options, signal);
  } finally {
    await heartbeat.stop();
  }
}

/** The rest of runPublication, once it holds the claim (its heartbeat beating meanwhile). */
async function runClaimed(db: Knex, id: string, claim: string, options: PublishOptions, signal: AbortSignal | undefined): Promise<RunOutcome> {

  // Claimed: from here an error that ends the run leaves the publication "publishing", in step
  // 'fetching' (the job's next run takes it over) until the run marks 'posting'.
  const row = await untilRecorded(() => db('publications').where({ id }).first());
  let outcome: { ok: true; externalId: string; url: string } | FailedAttempt;
  let secretValues: string[] = [];
  let video: LocalFile | null = null;
  let posting = false;
  try {
    video = await untilAborted(videoFile(row.video_path, options.storage), signal);
    const channel = await loadChannelForPublish(db, row.channel_id, options.secrets);
    signal?.throwIfAborted();
    secretValues = Object.values(channel.credentials).filter((v): v is string => typeof v === 'string' && v.length >= 6);
    const marked = await db('publications').where({ id, status: 'publishing', publish_step: 'fetching', claim_token: claim })
      .update({ publish_step: 'posting', updated_at: nowIso() });
    // Taken over by a later run (this one was thought dead): that run posts, not this one.
    if (marked !== 1) return 'not_claimed';
    posting = true;
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
    if (!posting && signal?.aborted) {
      // Stopped (worker shutting down, lease lost) before posting: back on the schedule for the
      // job's next run. If the database is away too, the row stays 'fetching', which that run
      // takes over all the same.
      await reopenUnposted(db, id, claim).catch(() => false);
      throw signal.reason;
    }
    // The message is shown to the user and sent in webhooks: no credential may survive in it, even
    // if a platform echoed one back.
    // Nor a directory of the server (a file system error names the file it failed on).
    const scrub = (text: string) => withoutLocalPaths(secretValues.reduce((t, v) => t.split(v).join('[redacted]'), text));
    outcome = failedAttempt(err, scrub, posting);
  } finally {
    await video?.release();
  }

  // The platform has been called: its outcome exists only in this run's memory now. A database
  // outage here must not end the run, or the publication stays "publishing" (a retry of the job
  // finds it claimed) and is later failed as "may or may not exist", though the post exists.
  return untilRecorded(() => db.transaction(async (trx) => {
    const at = nowIso();
    const guard = { id, status: 'publishing', claim_token: claim };
    // 0 rows: taken over (only possible before posting); the run that took it records the outcome.
    let recorded: number;
    if (outcome.ok) {
      recorded = await trx('publications').where(guard).update({
        status: 'published', published_url: outcome.url, external_id: outcome.externalId, error_code: null, error: null, published_at: at, updated_at: at,
      });
    } else if (outcome.retryable && Number(row.attempts) < (options.maxRetries ?? 3)) {
      const attempts = Number(row.attempts) + 1;
      const next = new Date(clusterNow() + (options.retryBaseMs ?? 60_000) * 2 ** (attempts - 1));
      recorded = await trx('publications').where(guard).update({
        status: 'scheduled', claim_token: null, publish_step: null, attempts, error_code: outcome.code, error: outcome.error, scheduled_for: next.toISOString(), updated_at: at,
      });
      if (recorded !== 1) return 'not_claimed';
      await enqueueJob(trx, {
        type: JOB_TYPES.runPublication, payload: { publicationId: id }, runAt: next,
        dedupeKey: `${JOB_TYPES.runPublication}:${id}:retry:${attempts}`,
      });
      return 'retry_scheduled';
    } else {
      recorded = await trx('publications').where(guard).update({ status: 'failed', error_code: outcome.code, error: outcome.error, updated_at: at });
    }
    if (recorded !== 1) return 'not_claimed';
    const done = await getPublication(trx, row.account_id, id);
    await emitEvent(trx, {
      accountId: row.account_id,
      type: done.status === 'published' ? 'publication.published' : 'publication.failed',
      payload: eventData(done),
    });
    return done.status;
  }));
}

/** `work`, or the signal's reason once aborted; a file `work` still hands over later is released. */
async function untilAborted(work: Promise<LocalFile>, signal: AbortSignal | undefined): Promise<LocalFile> {
  if (!signal) return work;
  signal.throwIfAborted();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } catch (err) {
    if (signal.aborted) work.then((file) => file.release(), () => {});
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** How long a run keeps offering its outcome to a database that is away (then the stale sweep decides). */
const RECORD_FOR_MS = 120_000;

/** Runs `write` (a read or a write) again while it fails for a database outage, with growing gaps, for RECORD_FOR_MS. */
async function untilRecorded<T>(write: () => Promise<T>): Promise<T> {
  // The monotonic clock: a wall-clock step forward during the outage would give up at once.
  const until = performance.now() + RECORD_FOR_MS;
  for (let gap = 250; ; gap = Math.min(gap * 2, 5_000)) {
    try {
      return await write();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || performance.now() + gap > until) throw err;
      await new Promise((resolve) => setTimeout(resolve, gap));
    }
  }
}

/**
 * A publication stuck in `publishing` (its runner died mid-upload) is marked failed, never run
 * again: whether the platform created the post is unknown, and posting twice is worse than asking
 * the user to check. One whose run died before it called the platform (step 'fetching') is
 * scheduled again instead (its job was lost too, or it would have done that). Stuck means started
 * over `staleAfterMs` ago and seen by this process with its heartbeat unrenewed for
 * `staleConfirmMs` (src/publish/heartbeat.ts), so it takes two sweeps at least.
 */
export async function failStalePublications(db: Knex, options: PublishOptions = {}): Promise<number> {
  const before = new Date(clusterNow() - (options.staleAfterMs ?? 2 * 3_600_000)).toISOString();
  const stale = (await db('publications').where({ status: 'publishing' }).andWhere('started_at', '<', before)
    .select('id', 'account_id', 'claim_token', 'publish_step', 'updated_at')) as { id: string; account_id: string; claim_token: string; publish_step: string | null; updated_at: unknown }[];
  let failed = 0;
  // Only runs seen unrenewed for a while: a live run's heartbeat changes the row first.
  for (const s of stale.filter((row) => seenUnrenewed(row, options.staleConfirmMs))) {
    await db.transaction(async (trx) => {
      if (s.publish_step === 'fetching') {
        if ((await rescheduleUnposted(trx, s.id, options, s.claim_token)) === 'failed') failed++;
        return;
      }
      const at = nowIso();
      const changed = await trx('publications').where({ id: s.id, status: 'publishing', claim_token: s.claim_token, publish_step: s.publish_step }).update({
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
