import type { AddressPolicy } from '../net/address-policy.js';
import type { Resolver } from '../net/safe-fetch.js';
import type { ProbeFn } from './probe.js';

const ASSET_KINDS = ['image', 'video', 'music', 'voice', 'sfx'] as const;
export type AssetKind = (typeof ASSET_KINDS)[number];

export function isAssetKind(value: unknown): value is AssetKind {
  return typeof value === 'string' && (ASSET_KINDS as readonly string[]).includes(value);
}

export interface KindLimits {
  maxBytes: number;
  /** null: no duration limit (images). */
  maxDurationS: number | null;
}

const MB = 1024 * 1024;

/** The app uploader's limits (seed 001): image 25 MB; video 300 MB / 3 min; music 50 MB / 10 min. */
const DEFAULT_LIMITS: Record<AssetKind, KindLimits> = {
  image: { maxBytes: 25 * MB, maxDurationS: null },
  video: { maxBytes: 300 * MB, maxDurationS: 3 * 60 },
  music: { maxBytes: 50 * MB, maxDurationS: 10 * 60 },
  voice: { maxBytes: 50 * MB, maxDurationS: 10 * 60 },
  sfx: { maxBytes: 50 * MB, maxDurationS: 10 * 60 },
};

export const DEFAULT_QUOTA_BYTES = 2 * 1024 * MB;

export interface AssetsConfig {
  /** Storage quota given to an account when its usage row is first created (default 2 GiB). */
  quotaBytes?: number;
  /** Per-kind overrides of DEFAULT_LIMITS. */
  limits?: Partial<Record<AssetKind, Partial<KindLimits>>>;
  /** Exceptions to the SSRF policy for imports: tests and local development only. */
  addressPolicy?: AddressPolicy;
  /** DNS resolver for imports (tests inject one). */
  resolve?: Resolver;
  /** Whole-download deadline for imports (default 10 min) and idle timeout (default 30 s). */
  fetchTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Upload slot lifetime (default 15 min). */
  uploadSlotTtlS?: number;
  /** Lifetime of the signed URL returned with an asset (default: the storage's default). */
  urlTtlS?: number;
  /** The most pixels an image may declare (default MAX_IMAGE_PIXELS, 40 MP; src/assets/media-checks.ts). */
  maxImagePixels?: number;
  /** Media probe (default: ffprobe). */
  probe?: ProbeFn;
}

export function limitsFor(kind: AssetKind, config: AssetsConfig = {}): KindLimits {
  return { ...DEFAULT_LIMITS[kind], ...config.limits?.[kind] };
}

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got ${value})`);
  return n;
}

/**
 * Reads the assets settings from the environment:
 * LAVENDLY_STORAGE_QUOTA_BYTES, LAVENDLY_IMPORT_TIMEOUT_S, LAVENDLY_UPLOAD_SLOT_TTL_S, and, for
 * tests and local development only, LAVENDLY_IMPORT_ALLOW_ENDPOINTS (comma-separated `ip:port`
 * that imports may reach although internal) and LAVENDLY_IMPORT_ALLOW_LOOPBACK=1.
 */
export function assetsConfigFromEnv(env: NodeJS.ProcessEnv): AssetsConfig {
  const endpoints = (env.LAVENDLY_IMPORT_ALLOW_ENDPOINTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const timeoutS = positive('LAVENDLY_IMPORT_TIMEOUT_S', env.LAVENDLY_IMPORT_TIMEOUT_S);
  return {
    quotaBytes: positive('LAVENDLY_STORAGE_QUOTA_BYTES', env.LAVENDLY_STORAGE_QUOTA_BYTES),
    fetchTimeoutMs: timeoutS === undefined ? undefined : timeoutS * 1000,
    uploadSlotTtlS: positive('LAVENDLY_UPLOAD_SLOT_TTL_S', env.LAVENDLY_UPLOAD_SLOT_TTL_S),
    addressPolicy: {
      allowLoopback: env.LAVENDLY_IMPORT_ALLOW_LOOPBACK === '1',
      allowEndpoints: endpoints,
    },
  };
}
