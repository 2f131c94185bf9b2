/**
 * The one place the app meets `handlers/`: every tag's slice, assembled into the object the
 * generated `mountRoutes` needs. A missing or mistyped slice fails `tsc` here.
 */
import type { Handlers } from '../../generated/handlers.gen.js';
import { assetsHandlers } from '../../handlers/assets.js';
import { audioHandlers } from '../../handlers/audio.js';
import { generateHandlers } from '../../handlers/generate.js';
import { keysHandlers } from '../../handlers/keys.js';
import { ledgerHandlers } from '../../handlers/ledger.js';
import { publishHandlers } from '../../handlers/publish.js';
import { rendersHandlers } from '../../handlers/renders.js';
import { reviewHandlers } from '../../handlers/review.js';
import { telemetryHandlers } from '../../handlers/telemetry.js';
import { webhooksHandlers } from '../../handlers/webhooks.js';
import { workflowsHandlers } from '../../handlers/workflows.js';
import type { AppContext } from '../http/context.js';

export const handlers: Handlers<AppContext> = {
  workflows: workflowsHandlers,
  assets: assetsHandlers,
  generate: generateHandlers,
  audio: audioHandlers,
  renders: rendersHandlers,
  review: reviewHandlers,
  publish: publishHandlers,
  ledger: ledgerHandlers,
  telemetry: telemetryHandlers,
  webhooks: webhooksHandlers,
  keys: keysHandlers,
};
