import type { WebhooksHandlers } from '../generated/handlers.gen.js';
import type { AppContext } from '../src/http/context.js';
import { stubSlice } from './stub.js';

/** STUB: every webhooks operation answers 501 not_implemented until its owner replaces this module. */
export const webhooksHandlers = stubSlice(['list_webhook_endpoints', 'create_webhook_endpoint', 'delete_webhook_endpoint', 'list_webhook_deliveries', 'replay_webhook_delivery']) satisfies WebhooksHandlers<AppContext>;
