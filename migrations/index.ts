import type { Knex } from 'knex';
import * as core from './001_core.js';
import * as idempotency from './002_idempotency.js';
import * as workflows from './003_workflows.js';
import * as ledgerJobs from './004_ledger_jobs.js';
import * as assets from './005_assets.js';
import * as publishWebhooks from './006_publish_webhooks.js';
import * as generation from './007_generation.js';
import * as audioRenders from './008_audio_renders.js';
import * as providerTasks from './009_provider_tasks.js';
import * as workflowVideoModel from './010_workflow_video_model.js';
import * as jobTraceContext from './011_job_trace_context.js';
import * as rateLimits from './012_rate_limits.js';
import * as transferSlots from './012_transfer_slots.js';
import * as accountTimeZone from './013_account_time_zone.js';
import * as consoleUsers from './014_console_users.js';
import * as oauth from './015_oauth.js';
import * as clipProbes from './016_clip_probes.js';
import * as ledgerPages from './017_ledger_pages.js';
import * as jobPartialIndexes from './018_job_partial_indexes.js';
import * as publicationsByWorkflow from './019_publications_by_workflow.js';
import * as webhookFairShare from './020_webhook_fair_share.js';
import * as uploadSlotExpiry from './021_upload_slot_expiry.js';
import * as oauthClientUse from './022_oauth_client_use.js';
import * as publicationRequestKey from './023_publication_request_key.js';
import * as publicationStep from './024_publication_step.js';
import * as oauthClientsBeforeUse from './027_oauth_clients_before_use.js';
import * as idempotencyEffect from './028_idempotency_effect.js';
import * as jobWaitingFor from './029_job_waiting_for.js';

export interface Migration {
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

/** Every migration, by name; names sort into the order they run. Add new ones here. */
export const migrations: Record<string, Migration> = {
  '001_core': core,
  '002_idempotency': idempotency,
  '003_workflows': workflows,
  '004_ledger_jobs': ledgerJobs,
  '005_assets': assets,
  '006_publish_webhooks': publishWebhooks,
  '007_generation': generation,
  '008_audio_renders': audioRenders,
  '009_provider_tasks': providerTasks,
  '010_workflow_video_model': workflowVideoModel,
  '011_job_trace_context': jobTraceContext,
  '012_rate_limits': rateLimits,
  '012_transfer_slots': transferSlots,
  '013_account_time_zone': accountTimeZone,
  '014_console_users': consoleUsers,
  '015_oauth': oauth,
  '016_clip_probes': clipProbes,
  '017_ledger_pages': ledgerPages,
  '018_job_partial_indexes': jobPartialIndexes,
  '019_publications_by_workflow': publicationsByWorkflow,
  '020_webhook_fair_share': webhookFairShare,
  '021_upload_slot_expiry': uploadSlotExpiry,
  '022_oauth_client_use': oauthClientUse,
  '023_publication_request_key': publicationRequestKey,
  '024_publication_step': publicationStep,
  '027_oauth_clients_before_use': oauthClientsBeforeUse,
  '028_idempotency_effect': idempotencyEffect,
  '029_job_waiting_for': jobWaitingFor,
};

/**
 * Migrations that code from before them runs correctly beside (a new index, a new nullable
 * column that older code leaves null and this code reads as such): older processes keep running
 * and may restart on a database that has them, and an older binary may be rolled back to
 * (src/db/migration-log.ts). Leave a migration out when older code would misbehave beside it
 * (a dropped or renamed column, a new NOT NULL column without a default, a changed meaning);
 * older processes then refuse to start on the database that has it.
 */
export const compatibleWithOlderCode: ReadonlySet<string> = new Set([
  '020_webhook_fair_share',
  '021_upload_slot_expiry',
  '022_oauth_client_use',
  '023_publication_request_key',
  '024_publication_step',
  '027_oauth_clients_before_use',
  '028_idempotency_effect',
  '029_job_waiting_for',
]);
