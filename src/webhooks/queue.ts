import type { Knex } from 'knex';
import { enqueue } from '../jobs/index.js';

/**
 * Webhook deliveries and scheduled publications run on the durable job queue. Each job is enqueued
 * in the same transaction that writes its row, so a job exists exactly when its row does; dedupe
 * keys make every enqueue safe to repeat. The sweepers (`runDueDeliveries`, `runDuePublications`)
 * remain as a safety net for rows whose job was lost or never written (older rows).
 */
export interface JobRequest {
  type: string;
  payload: Record<string, unknown>;
  runAt?: Date;
  dedupeKey?: string;
}

export async function enqueueJob(db: Knex | Knex.Transaction, job: JobRequest): Promise<void> {
  await enqueue(db, job);
}

export const JOB_TYPES = {
  deliverWebhook: 'webhook.deliver',
  runPublication: 'publication.run',
} as const;
