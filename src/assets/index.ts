export {
  importAsset, getAsset, assetFile, deleteAsset, storeReceivedFile, assetFromRow, familyOf,
  AssetTooLargeError, AssetTooLongError, type Asset, type AssetRow, type AssetDeps,
} from './assets.js';
export { createUploadSlot, receiveUpload, type UploadSlot } from './uploads.js';
export {
  ASSET_KINDS, DEFAULT_LIMITS, DEFAULT_QUOTA_BYTES, assetsConfigFromEnv, isAssetKind, limitsFor,
  type AssetKind, type AssetsConfig, type KindLimits,
} from './config.js';
export { getUsage, reserveBytes, releaseBytes, setQuota, ensureUsageRow, QuotaExceededError, type StorageUsage } from './quota.js';
export { ffprobe, ProbeError, type AssetProbe, type ProbeFn } from './probe.js';
export { TransferBudget, type StagedTransfer } from './transfers.js';
