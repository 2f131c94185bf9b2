import type { HandlerEntry, Job, JobContext } from '../jobs/index.js';
import { JOB_TYPES } from '../webhooks/queue.js';
import { rescheduleUnposted } from './interrupted.js';
import { runPublication } from './runner.js';
import type { PublishOptions } from './service.js';

/**
 * The worker's handler for `publication.run`. Safe to run any number of times, by any number of
 * workers: `runPublication` claims the publication with a conditional update, so only one run ever
 * calls the platform, and a run that finds it claimed, canceled or done does nothing. When the job
 * fails for good (its worker kept dying, or its lease ran out on the last attempt), a publication
 * it left before the platform was called goes back on the schedule with a job of its own.
 */
export function publishJobHandlers(options: PublishOptions = {}): Record<string, HandlerEntry> {
  return {
    [JOB_TYPES.runPublication]: {
      run: async (job: Job<{ publicationId: string }>, ctx: JobContext) =>
        ({ outcome: await runPublication(ctx.db, job.payload.publicationId, options, { signal: ctx.signal }) }),
      onFailed: async (job: Job<{ publicationId: string }>, _failure, trx) => {
        await rescheduleUnposted(trx, job.payload.publicationId, options);
      },
    },
  };
}
