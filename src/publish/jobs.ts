import type { HandlerEntry, Job, JobContext } from '../jobs/index.js';
import { JOB_TYPES } from '../webhooks/queue.js';
import { runPublication } from './runner.js';
import type { PublishOptions } from './service.js';

/**
 * The worker's handler for `publication.run`. Safe to run any number of times, by any number of
 * workers: `runPublication` claims the publication with a conditional update, so only one run ever
 * calls the platform, and a run that finds it claimed, canceled or done does nothing.
 */
export function publishJobHandlers(options: PublishOptions = {}): Record<string, HandlerEntry> {
  return {
    [JOB_TYPES.runPublication]: async (job: Job<{ publicationId: string }>, ctx: JobContext) =>
      ({ outcome: await runPublication(ctx.db, job.payload.publicationId, options) }),
  };
}
