export { refusalFor } from './address.js';
export { emitBalanceLowIfCrossed } from './balance.js';
export {
  deliver, getDelivery, getDeliveryOnly, listDeliveries, replayDelivery, runDueDeliveries, type WebhookDelivery,
} from './deliver.js';
export { createdEndpoint, createEndpoint, deleteEndpoint, getEndpoint, listEndpoints, type WebhookEndpoint } from './endpoints.js';
export { emitEvent } from './events.js';
export { webhookOptionsFromEnv, type WebhookOptions } from './options.js';
export { webhookJobHandlers, webhookJobTypes } from './jobs.js';
