import type { Knex } from 'knex';

/**
 * The seam to the durable job queue. Webhook deliveries and scheduled publications are enqueued
 * in the same transaction that writes them, so a job exists exactly when its row does.
 *
 * Until the queue is installed (`useJobQueue`), nothing is enqueued and the sweepers
 * (`runDueDeliveries`, `runDuePublications`) find due work from the rows themselves; they stay
 * useful afterwards as a safety net.
 */
export interface JobRequest {
  type: string;
  payload: Record<string, unknown>;
  runAt?: Date;
  dedupeKey?: string;
}

export type EnqueueFn = (db: Knex | Knex.Transaction, job: JobRequest) => Promise<unknown>;

let enqueueImpl: EnqueueFn | null = null;

export function useJobQueue(fn: EnqueueFn | null): void {
  enqueueImpl = fn;
}

export async function enqueueJob(db: Knex | Knex.Transaction, job: JobRequest): Promise<void> {
  if (enqueueImpl) await enqueueImpl(db, job);
}

export const JOB_TYPES = {
  deliverWebhook: 'webhook.deliver',
  runPublication: 'publication.run',
} as const;
