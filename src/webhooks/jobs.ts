import type { HandlerEntry, Job, JobContext } from '../jobs/index.js';
import { deliver } from './deliver.js';
import type { WebhookOptions } from './options.js';
import { JOB_TYPES } from './queue.js';

/** The job types webhooks run: the worker gives them a lane of their own (they wait on receivers). */
export const webhookJobTypes: string[] = [JOB_TYPES.deliverWebhook];

/**
 * The worker's handler for `webhook.deliver`: one attempt per job. A failed attempt is not a failed
 * job: `deliver` records it and enqueues the next attempt on the webhook retry schedule, so the job
 * queue's own retries only cover crashes (a lost lease) and database errors.
 */
export function webhookJobHandlers(options: Partial<WebhookOptions> = {}): Record<string, HandlerEntry> {
  return {
    [JOB_TYPES.deliverWebhook]: async (job: Job<{ deliveryId: string }>, ctx: JobContext) => deliver(ctx.db, job.payload.deliveryId, options),
  };
}
