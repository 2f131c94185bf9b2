export { AddressRefusedError, refusalFor, resolveWebhookTarget, type AddressPolicy } from './address.js';
export { emitBalanceLowIfCrossed, lowBalanceThreshold, type BalanceChange } from './balance.js';
export {
  deliver, getDelivery, listDeliveries, replayDelivery, runDueDeliveries,
  type DeliveryAttempt, type DeliveryOutcome, type DeliveryStatus, type ListDeliveriesQuery, type WebhookDelivery,
} from './deliver.js';
export {
  createEndpoint, deleteEndpoint, disableEndpoint, generateWebhookSecret, getEndpoint, listEndpoints,
  type CreatedWebhookEndpoint, type CreateEndpointInput, type WebhookEndpoint,
} from './endpoints.js';
export { emitEvent, WEBHOOK_EVENT_TYPES, type EmitEventInput, type EmittedEvent, type WebhookEventType } from './events.js';
export { defaultWebhookOptions, parseSchedule, webhookOptionsFromEnv, type WebhookOptions } from './options.js';
export type { Page, PageQuery } from './page.js';
export { webhookJobHandlers } from './jobs.js';
export { enqueueJob, JOB_TYPES, type JobRequest } from './queue.js';
