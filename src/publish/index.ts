export {
  ChannelBusyError, connectChannel, disconnectChannel, getChannel, listChannels, loadChannelForPublish, type Channel,
} from './channels.js';
export {
  beginChannelConnection, ChannelConnectError, finishChannelConnection, type OAuthProviders,
} from './connect.js';
export type { SecretsOptions } from './credentials.js';
export { publishJobHandlers } from './jobs.js';
export { startSweeper } from './sweeper.js';
export { createPublishers, type Publishers } from './publishers.js';
export {
  cancelPublication, cancelWorkflowPublications, getPublication, recentWorkflowPublications, requestPublication,
  type Publication, type PublishOptions,
} from './service.js';
export { PLATFORMS, type Platform } from './types.js';
export { publishOptionsFor, secretsFor } from './wiring.js';
