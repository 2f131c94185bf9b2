/**
 * Removing a deleted workflow's files (generated stills and clips, review frames, renders). The
 * deletion has committed by then, so nothing else will ever name these files: a store that is
 * away when the workflow is deleted used to leave them in the bucket for good. What cannot be
 * removed at once is handed to a job, which waits out the store's outage like any job
 * (src/jobs/outage.ts) and removes them once it is back. The same job removes a failed scene's or
 * render's files that no row names (queueOrphanRemoval).
 */
import type { Knex } from 'knex';
import { enqueue, type HandlerEntry, type Job } from '../jobs/index.js';
import { StorageUnavailableError, type Storage } from '../storage/index.js';

export const REMOVE_FILES_JOB = 'workflow.remove_files';

interface RemoveFilesPayload {
  workflow_id: string;
  keys: string[];
}

interface CleanupLog {
  warn(obj: Record<string, unknown>, msg: string): void;
}

/**
 * Removes each key's tree; those that fail go to a job. Once the store is found unavailable the
 * rest go to the job untried: each try of a silent store would hold the DELETE for a whole
 * timeout. Never throws: the workflow is already gone.
 */
export async function removeWorkflowFiles(deps: { db: Knex; storage: Storage; log: CleanupLog }, workflowId: string, keys: string[]): Promise<void> {
  const left: string[] = [];
  let storeAway = false;
  for (const key of keys) {
    if (storeAway) {
      left.push(key);
      continue;
    }
    await deps.storage.removeTree(key).catch((err: unknown) => {
      deps.log.warn({ err, key, workflow_id: workflowId }, 'could not remove a deleted workflow\'s file; a job will retry');
      left.push(key);
      storeAway = err instanceof StorageUnavailableError;
    });
  }
  if (left.length === 0) return;
  const payload: RemoveFilesPayload = { workflow_id: workflowId, keys: left };
  await enqueue(deps.db, { type: REMOVE_FILES_JOB, payload, dedupeKey: `${REMOVE_FILES_JOB}:${workflowId}` })
    .catch((err: unknown) => deps.log.warn({ err, keys: left, workflow_id: workflowId }, 'could not queue the removal of a deleted workflow\'s files'));
}

/**
 * Queues the removal of files a failure left that no row names (a failed scene's unrecorded clip
 * or still, a failed render's output), in the failure's transaction: they are removed once it
 * commits, or once the store is back if it is away then, and a worker dying right after the
 * commit does not leave them either. `dedupeKey` names the failure, so running the hook again
 * queues nothing twice. (The failure hooks run without a handle on the database outside their
 * transaction, so they cannot first try the store and queue only what it refused.)
 */
export async function queueOrphanRemoval(trx: Knex.Transaction, workflowId: string, keys: string[], dedupeKey: string): Promise<void> {
  if (keys.length === 0) return;
  const payload: RemoveFilesPayload = { workflow_id: workflowId, keys };
  await enqueue(trx, { type: REMOVE_FILES_JOB, payload, dedupeKey: `${REMOVE_FILES_JOB}:${dedupeKey}` });
}

/** The job handler: removes what the deletion could not (removeTree of a missing key is a no-op). */
export function workflowCleanupJobHandlers(deps: { storage: Storage }): Record<string, HandlerEntry> {
  return {
    [REMOVE_FILES_JOB]: async (job: Job<RemoveFilesPayload>) => {
      for (const key of job.payload?.keys ?? []) await deps.storage.removeTree(key);
      return { removed: job.payload?.keys.length ?? 0 };
    },
  };
}
