export {
  ChannelBusyError, connectChannel, disconnectChannel, getChannel, listChannels, loadChannelForPublish, type Channel, type ChannelList, type ConnectChannelInput,
} from './channels.js';
export {
  beginChannelConnection, ChannelConnectError, finishChannelConnection, oauthProvidersFromEnv, type OAuthProvider, type OAuthProviders,
} from './connect.js';
export { credentialsKey, type SecretsOptions } from './credentials.js';
export { publishJobHandlers } from './jobs.js';
export { startSweeper, type SweeperOptions } from './sweeper.js';
export { createPublishers, publishersConfigFromEnv, type Publishers, type PublishersConfig } from './publishers.js';
export {
  cancelPublication, cancelWorkflowPublications, failStalePublications, getPublication, listPublications, recentWorkflowPublications, requestPublication,
  resolveWhen, runDuePublications, runPublication,
  type FinishedRender, type ListPublicationsQuery, type Publication, type PublicationStatus, type PublishOptions,
  type RequestPublicationInput, type RunOutcome,
} from './service.js';
export { PLATFORMS, PublishError, type Platform, type PublishChannel, type PublishRequest, type PublishResult, type Publisher, type PublishVideo } from './types.js';
export { TIKTOK_CAPTION_MAX, tiktokPublisher, type TikTokOptions } from './tiktok.js';
export { YOUTUBE_TITLE_MAX, youtubePublisher, type YouTubeOptions } from './youtube.js';
export { localPublisher, type LocalOptions } from './local.js';
export { publishOptionsFor, secretsFor } from './wiring.js';
