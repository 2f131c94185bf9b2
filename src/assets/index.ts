export { importAsset, getAsset, deleteAsset, type Asset } from './assets.js';
export { createUploadSlot, receiveUpload, type UploadSlot } from './uploads.js';
export { assetsConfigFromEnv, type AssetsConfig } from './config.js';
export { getUsage, setQuota } from './quota.js';
export { TransferBudget } from './transfers.js';
