import path from 'node:path';
import { assetsConfigFromEnv, type AssetsConfig } from './assets/config.js';
import { consoleAuthOptionsFromEnv, type ConsoleAuthOptions } from './console-auth/service.js';
import { generationConfigFromEnv, type GenerationConfig } from './generation/providers.js';
import { mediaBinariesFromEnv, type MediaBinaries } from './media/binaries.js';
import { oauthProvidersFromEnv, type OAuthProviders } from './publish/connect.js';
import { credentialsSecretFromEnv } from './publish/credentials.js';
import { publishersConfigFromEnv, type PublishersConfig } from './publish/publishers.js';
import { webhookOptionsFromEnv, type WebhookOptions } from './webhooks/options.js';
import { workerSettingsFromEnv, type WorkerSettings } from './jobs/worker-settings.js';

/** Everything the process reads from its environment, read once. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** LAVENDLY_DATA_DIR was not set: `dataDir` is ./data under the current directory (its errors say so). */
  dataDirIsDefault?: boolean;
  /** `postgres://...` switches from the embedded SQLite file to PostgreSQL. */
  databaseUrl: string | null;
  /** Public base URL of the API, used to build signed links. */
  publicBaseUrl: string;
  /** Secret for signing URLs and cursors; generated per data dir when not given. */
  signingSecret: string | null;
  /** Where media files live: the data dir (default) or an S3-compatible bucket (LAVENDLY_STORAGE_URL). */
  storage: StorageConfig;
  idempotencyWindowS: number;
  /**
   * How long an idempotency claim holds without renewal. A running request renews it every
   * third of this, so it only bounds how long a crashed process's claim blocks a retry.
   */
  idempotencyLeaseS: number;
  rateLimitPerMinute: number;
  /** Requests that fail authentication, per client address per minute, before they answer 429. */
  authFailuresPerMinute: number;
  /**
   * Reverse proxies in front of the server (LAVENDLY_TRUST_PROXY, default 0). With N > 0 the
   * client address is taken from X-Forwarded-For: the Nth entry from the right, the one the
   * outermost trusted proxy wrote. With 0 the header is ignored (any client could forge it).
   */
  trustProxy: number;
  /** Connection and request limits of the HTTP server (src/http/server-limits.ts). */
  headersTimeoutS: number;
  requestTimeoutS: number;
  /** A request whose body stalls this long has its connection closed. */
  bodyIdleTimeoutS: number;
  maxConnections: number;
  /** Uploads and imports one account may have arriving at once (per server process). */
  transfersPerAccount: number;
  responseValidation: 'off' | 'log' | 'throw';
  /** Origins whose browser pages may call the API: `['*']` (default) any, `[]` none (src/http/cors.ts). */
  corsOrigins: string[];
  /** Which hosted (or built-in) model serves each capability, and how to reach the providers. */
  models: ModelsConfig;
  /**
   * Prometheus metrics at `GET /metrics` (src/telemetry): on the API's port, or on a port of its
   * own when `port` is set (the only way a `worker` process serves them); `token` set = a Bearer
   * token is required.
   */
  metrics: { enabled: boolean; token: string | null; port: number | null };
  /** OpenTelemetry tracing over OTLP/HTTP; null when no endpoint is configured (the SDK is then never loaded). */
  tracing: TracingConfig | null;
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  logLevel: LogLevel;
  /** `auto`: pretty lines when stdout is a terminal, JSON lines otherwise. */
  logFormat: 'auto' | 'json' | 'pretty';
  /**
   * `off`: `/mcp` opens no sessions, so every request can go to any process (a load balancer
   * without sticky routing); clients that can ask their user are then served statelessly too.
   */
  mcpSessions: 'on' | 'off';
  /** After SIGTERM, /readyz answers 503 this long before the listener closes (load balancers move on). */
  shutdownDelayMs: number;
  /** After SIGTERM, how long requests and jobs in flight may take before jobs are handed back. */
  shutdownGraceMs: number;
  /*
   * The settings of single modules, each parsed by that module's own function (called only from
   * loadConfig, so the environment is read in this one place).
   */
  /** Prices, clip size, attempts and the test-only provider failures (src/generation/providers.ts). */
  generation: GenerationConfig;
  /** Storage quota, import timeouts and the import address policy (src/assets/config.ts). */
  assets: AssetsConfig;
  /** Webhook retry schedule and timeout (src/webhooks/options.ts). */
  webhooks: WebhookOptions;
  /** Platform API base URLs for publishing (src/publish/publishers.ts). */
  publishers: PublishersConfig;
  /** YouTube / TikTok OAuth clients for connecting channels (src/publish/connect.ts). */
  oauthProviders: OAuthProviders;
  /** Key material channel credentials are sealed with; null = a key file in the data dir. */
  credentialsSecret: string | null;
  /** Console session lifetimes and sign-in throttling (src/console-auth/service.ts). */
  consoleAuth: ConsoleAuthOptions;
  /** How long a key lookup is cached (LAVENDLY_AUTH_CACHE_MS, default 500; 0 disables). */
  authCacheTtlMs: number;
  /** Largest JSON body accepted, in bytes (LAVENDLY_JSON_BODY_LIMIT); null = the app's default. */
  jsonBodyLimit: number | null;
  /** Job worker tuning, and whether `serve` runs one (src/jobs/worker-settings.ts). */
  worker: WorkerSettings;
  /** FFMPEG_PATH / FFPROBE_PATH; null = the binaries of the npm packages. */
  media: MediaBinaries;
}

export type StorageConfig = { driver: 'local' } | S3StorageConfig;

export interface S3StorageConfig {
  driver: 's3';
  bucket: string;
  /** Where the processes reach the store, e.g. `http://minio:9000`. */
  endpoint: string;
  /** Where clients reach it (presigned links): `public_endpoint=` in the URL, else `endpoint`. */
  publicEndpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string | null;
  /**
   * LAVENDLY_STORAGE_TIMEOUT_S (default 30): the longest a call to the store may wait for its
   * answer (the SDK's tries together; src/storage/s3.ts), and the longest a transfer may go without
   * a byte moving either way. A silence bound on transfers, not a total: a large object keeps
   * going as long as it flows.
   */
  timeoutMs: number;
}

export interface TracingConfig {
  /** Where spans are POSTed (OTLP/HTTP JSON), e.g. `http://collector:4318/v1/traces`. */
  tracesUrl: string;
  /** Extra request headers for the collector (OTEL_EXPORTER_OTLP_HEADERS: `k=v,k2=v2`). */
  headers: Record<string, string>;
  serviceName: string;
  /** Share of new traces recorded (0..1); a sampled parent from `traceparent` is always followed. */
  sampleRatio: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

/** A setting the process cannot start with; the CLI prints its message as one line and exits. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * The longest delay Node's timers take (2^31 - 1 ms, about 24.8 days). A longer one fires after
 * 1 ms instead, with only a warning: a grace period meant as "as long as it takes" would abort
 * every job at once. Settings that end up as timers stop start-up above it.
 */
const MAX_TIMER_MS = 2_147_483_647;
const MAX_TIMER_S = Math.floor(MAX_TIMER_MS / 1000);

/** Whole numbers only: `Number('')`, `Number('0x10')` and `Number('1e3')` are not settings. */
function integerSetting(name: string, raw: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got '${raw}')`);
  }
  return n;
}

/**
 * A path from the environment, made absolute. Node decodes the environment as UTF-8 and puts
 * U+FFFD for any other byte, so a Latin-1 name (`caf\xe9`) became another directory, silently:
 * a new empty database, and the operator's backups of the directory named missed it all.
 */
function pathSetting(name: string, raw: string): string {
  if (raw.includes('\uFFFD')) {
    throw new ConfigError(`${name} is not valid UTF-8 (Node would open another path than the one named): rename it, or name it through a symlink with a UTF-8 name`);
  }
  return path.resolve(raw);
}

function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')} (got '${raw}')`);
  return raw as T;
}

/**
 * Only PostgreSQL speaks the dialect the migrations and queries are written for. The URL may
 * hold a password, so only its scheme is ever echoed back.
 */
function databaseUrl(raw: string | undefined): string | null {
  if (!raw) return null;
  let scheme: string;
  try {
    scheme = new URL(raw).protocol;
  } catch {
    throw new ConfigError('DATABASE_URL is not a URL (expected postgres://user:password@host:5432/database)');
  }
  if (scheme !== 'postgres:' && scheme !== 'postgresql:') {
    throw new ConfigError(`DATABASE_URL must be a postgres:// or postgresql:// URL; ${scheme}// databases are not supported (leave it unset for the embedded SQLite file)`);
  }
  return raw;
}

function publicUrl(raw: string | undefined, port: number): string {
  if (raw === undefined || raw === '') return `http://localhost:${port}`;
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new ConfigError(`LAVENDLY_PUBLIC_URL must be an http:// or https:// URL (got '${raw}')`);
  // Written out as a URL: a proxy prefix such as "/lavendly é" went into every signed link and
  // upload_url with its raw space and é (not a URL a client can send), and a trailing slash
  // made the origin checks compare "https://h/" with "https://h".
  return url.href.replace(/\/+$/, '');
}

/** LAVENDLY_CORS_ORIGINS: `*` (default), `off`, or comma-separated origins like `https://app.example.com`. */
function corsOrigins(raw: string | undefined): string[] {
  const value = (raw ?? '*').trim();
  if (value === '*' || value === '') return ['*'];
  if (value === 'off') return [];
  return value.split(',').map((item) => {
    const origin = item.trim();
    let url: URL | null = null;
    try {
      url = new URL(origin);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin) {
      throw new ConfigError(`LAVENDLY_CORS_ORIGINS takes *, off, or origins like https://app.example.com (scheme, host, port; no path): got '${origin}'`);
    }
    return origin;
  });
}

/** The providers a capability can be wired to; `local` is the built-in ffmpeg set. */
type ProviderName = 'local' | 'openai' | 'runway';

/** One configured model: `id` is how it is named everywhere (`runway:gen4_turbo`, or `local`). */
export interface ModelRef {
  id: string;
  provider: ProviderName;
  model: string;
}

export interface ModelsConfig {
  image: ModelRef;
  /** The wired video models; the first is the default a workflow gets. */
  video: ModelRef[];
  review: ModelRef;
  openai: { apiKey: string | null; baseUrl: string };
  runway: { apiSecret: string | null; baseUrl: string; version: string; downloadHosts: string[] };
  /** How long one remote image or clip may take, submission to download (default 20 min). */
  deadlineS: number;
  /** First wait between two polls of a remote task; it grows to 10x (default 2000 ms). */
  pollMs: number;
  /** Provider HTTP retry tuning (LAVENDLY_PROVIDER_RETRIES, LAVENDLY_PROVIDER_BACKOFF_MS). */
  http: { retries?: number; backoffMs?: number };
}

const PROVIDERS: ProviderName[] = ['local', 'openai', 'runway'];

/** `provider:model` (or `local`) -> a ModelRef; throws a readable error naming the variable. */
function parseModelRef(name: string, raw: string): ModelRef {
  const text = raw.trim();
  if (text === 'local') return { id: 'local', provider: 'local', model: 'local' };
  const colon = text.indexOf(':');
  const provider = text.slice(0, colon) as ProviderName;
  const model = text.slice(colon + 1).trim();
  if (colon < 1 || !PROVIDERS.includes(provider) || provider === 'local' || !model) {
    throw new Error(`${name}: expected local or provider:model with provider one of openai, runway (got '${raw}')`);
  }
  return { id: `${provider}:${model}`, provider, model };
}

function hostList(raw: string | undefined, fallback: string[]): string[] {
  if (raw === undefined || !raw.trim()) return fallback;
  return raw.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
}

/**
 * LAVENDLY_IMAGE_MODEL / LAVENDLY_VIDEO_MODEL (a comma list: the first is the default) /
 * LAVENDLY_REVIEW_MODEL, and each provider's key and base URL. A provider that is named needs its
 * key; nothing named means everything stays `local`, as before.
 */
export function modelsFromEnv(env: NodeJS.ProcessEnv): ModelsConfig {
  const one = (name: string) => parseModelRef(name, env[name]?.trim() || 'local');
  const video = (env.LAVENDLY_VIDEO_MODEL?.trim() || 'local').split(',').filter((s) => s.trim()).map((s) => parseModelRef('LAVENDLY_VIDEO_MODEL', s));
  const ids = video.map((v) => v.id);
  if (new Set(ids).size !== ids.length) throw new Error(`LAVENDLY_VIDEO_MODEL names a model twice (${ids.join(', ')})`);
  const config: ModelsConfig = {
    image: one('LAVENDLY_IMAGE_MODEL'),
    video,
    review: one('LAVENDLY_REVIEW_MODEL'),
    openai: { apiKey: env.OPENAI_API_KEY || null, baseUrl: (env.OPENAI_BASE_URL || 'https://api.openai.com/v1').replace(/\/+$/, '') },
    runway: {
      apiSecret: env.RUNWAYML_API_SECRET || null,
      baseUrl: (env.RUNWAYML_BASE_URL || 'https://api.dev.runwayml.com').replace(/\/+$/, ''),
      version: env.RUNWAYML_API_VERSION || '2024-11-06',
      downloadHosts: hostList(env.RUNWAYML_DOWNLOAD_HOSTS, ['.cloudfront.net', '.runwayml.com']),
    },
    deadlineS: positive(env, 'LAVENDLY_PROVIDER_DEADLINE_S', 1200, MAX_TIMER_S),
    pollMs: positive(env, 'LAVENDLY_PROVIDER_POLL_MS', 2000, MAX_TIMER_MS / 10), // the wait grows to 10x
    http: { retries: positive(env, 'LAVENDLY_PROVIDER_RETRIES', 5), backoffMs: positive(env, 'LAVENDLY_PROVIDER_BACKOFF_MS', 1000) },
  };
  const keys: Record<Exclude<ProviderName, 'local'>, [string | null, string]> = {
    openai: [config.openai.apiKey, 'OPENAI_API_KEY'],
    runway: [config.runway.apiSecret, 'RUNWAYML_API_SECRET'],
  };
  for (const ref of [config.image, ...config.video, config.review]) {
    if (ref.provider === 'local') continue;
    const [key, name] = keys[ref.provider];
    if (!key) throw new Error(`${ref.id} is configured but ${name} is not set`);
  }
  return config;
}

/** Reads and checks every setting; throws a ConfigError naming the first bad one. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = integerSetting('PORT', env.PORT, 8090, 0, 65535);
  const models = modelsFromEnv(env);
  return {
    port,
    host: env.HOST || '127.0.0.1',
    dataDir: pathSetting('LAVENDLY_DATA_DIR', env.LAVENDLY_DATA_DIR || './data'),
    dataDirIsDefault: !env.LAVENDLY_DATA_DIR,
    databaseUrl: databaseUrl(env.DATABASE_URL),
    publicBaseUrl: publicUrl(env.LAVENDLY_PUBLIC_URL, port),
    signingSecret: env.LAVENDLY_SIGNING_SECRET || null,
    storage: storageFromEnv(env),
    idempotencyWindowS: integerSetting('LAVENDLY_IDEMPOTENCY_WINDOW_S', env.LAVENDLY_IDEMPOTENCY_WINDOW_S, 300, 1),
    idempotencyLeaseS: positive(env, 'LAVENDLY_IDEMPOTENCY_LEASE_S', 30, MAX_TIMER_S),
    rateLimitPerMinute: integerSetting('LAVENDLY_RATE_LIMIT_PER_MINUTE', env.LAVENDLY_RATE_LIMIT_PER_MINUTE, 600, 0),
    authFailuresPerMinute: positive(env, 'LAVENDLY_AUTH_FAILURES_PER_MINUTE', 30),
    trustProxy: integerSetting('LAVENDLY_TRUST_PROXY', env.LAVENDLY_TRUST_PROXY, 0, 0, 32),
    headersTimeoutS: positive(env, 'LAVENDLY_HEADERS_TIMEOUT_S', 10, MAX_TIMER_S),
    requestTimeoutS: positive(env, 'LAVENDLY_REQUEST_TIMEOUT_S', 900, MAX_TIMER_S),
    bodyIdleTimeoutS: positive(env, 'LAVENDLY_BODY_IDLE_TIMEOUT_S', 30, MAX_TIMER_S),
    maxConnections: integerSetting('LAVENDLY_MAX_CONNECTIONS', env.LAVENDLY_MAX_CONNECTIONS, 4096, 1),
    transfersPerAccount: integerSetting('LAVENDLY_TRANSFERS_PER_ACCOUNT', env.LAVENDLY_TRANSFERS_PER_ACCOUNT, 4, 1),
    corsOrigins: corsOrigins(env.LAVENDLY_CORS_ORIGINS),
    responseValidation: oneOf('LAVENDLY_RESPONSE_VALIDATION', env.LAVENDLY_RESPONSE_VALIDATION, ['off', 'log', 'throw'] as const, 'log'),
    models,
    metrics: metricsFromEnv(env),
    tracing: tracingFromEnv(env),
    logLevel: oneOf('LOG_LEVEL', env.LOG_LEVEL, LOG_LEVELS, 'info'),
    logFormat: oneOf('LAVENDLY_LOG_FORMAT', env.LAVENDLY_LOG_FORMAT, ['auto', 'json', 'pretty'] as const, 'auto'),
    mcpSessions: oneOf('LAVENDLY_MCP_SESSIONS', env.LAVENDLY_MCP_SESSIONS, ['on', 'off'] as const, 'on'),
    shutdownDelayMs: integerSetting('LAVENDLY_SHUTDOWN_DELAY_MS', env.LAVENDLY_SHUTDOWN_DELAY_MS, 0, 0, MAX_TIMER_MS),
    // 8 s: inside the 10 s a container runtime waits between SIGTERM and SIGKILL.
    shutdownGraceMs: integerSetting('LAVENDLY_SHUTDOWN_GRACE_MS', env.LAVENDLY_SHUTDOWN_GRACE_MS, 8_000, 0, MAX_TIMER_MS),
    ...moduleSettings(env, models),
  };
}

/** The settings each module parses for itself from the same environment record. */
function moduleSettings(env: NodeJS.ProcessEnv, models: ModelsConfig) {
  return {
    generation: generationConfigFromEnv(env, models),
    assets: assetsConfigFromEnv(env),
    webhooks: webhookOptionsFromEnv(env),
    publishers: publishersConfigFromEnv(env),
    oauthProviders: oauthProvidersFromEnv(env),
    credentialsSecret: credentialsSecretFromEnv(env),
    consoleAuth: consoleAuthOptionsFromEnv(env),
    authCacheTtlMs: integerSetting('LAVENDLY_AUTH_CACHE_MS', env.LAVENDLY_AUTH_CACHE_MS, 500, 0),
    jsonBodyLimit: env.LAVENDLY_JSON_BODY_LIMIT ? integerSetting('LAVENDLY_JSON_BODY_LIMIT', env.LAVENDLY_JSON_BODY_LIMIT, 1 << 20, 1) : null,
    worker: workerSettingsFromEnv(env),
    media: mediaBinariesFromEnv(env),
  };
}

/** A positive number from the environment, or `fallback` when unset. */
function positive(env: NodeJS.ProcessEnv, name: string, fallback: number, max = Number.MAX_VALUE): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${name} must be a positive number (got '${raw}')`);
  if (n > max) throw new ConfigError(`${name} must be a positive number up to ${max} (got '${raw}')`);
  return n;
}

function metricsFromEnv(env: NodeJS.ProcessEnv): Config['metrics'] {
  const flag = env.LAVENDLY_METRICS || 'on';
  if (flag !== 'on' && flag !== 'off') throw new Error(`LAVENDLY_METRICS must be on or off (got ${flag})`);
  const port = env.LAVENDLY_METRICS_PORT ? Number(env.LAVENDLY_METRICS_PORT) : null;
  if (port !== null && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new Error(`LAVENDLY_METRICS_PORT must be a port number (got ${env.LAVENDLY_METRICS_PORT})`);
  }
  return { enabled: flag === 'on', token: env.LAVENDLY_METRICS_TOKEN || null, port };
}

/**
 * The standard OpenTelemetry variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL) or
 * OTEL_EXPORTER_OTLP_ENDPOINT (a base URL, `/v1/traces` appended), OTEL_EXPORTER_OTLP_HEADERS,
 * OTEL_SERVICE_NAME, OTEL_SDK_DISABLED=true; plus LAVENDLY_TRACE_SAMPLE_RATIO.
 */
function tracingFromEnv(env: NodeJS.ProcessEnv): TracingConfig | null {
  if (env.OTEL_SDK_DISABLED === 'true') return null;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const tracesUrl = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : '');
  if (!tracesUrl) return null;
  try {
    const url = new URL(tracesUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new Error(`the OTLP traces endpoint must be an http(s) URL (got ${tracesUrl})`);
  }
  const headers: Record<string, string> = {};
  for (const pair of (env.OTEL_EXPORTER_OTLP_HEADERS ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) headers[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
  }
  const ratio = Number(env.LAVENDLY_TRACE_SAMPLE_RATIO ?? 1);
  if (!(ratio >= 0 && ratio <= 1)) throw new Error(`LAVENDLY_TRACE_SAMPLE_RATIO must be between 0 and 1 (got ${env.LAVENDLY_TRACE_SAMPLE_RATIO})`);
  return { tracesUrl, headers, serviceName: env.OTEL_SERVICE_NAME || 'lavendly', sampleRatio: ratio };
}

/**
 * LAVENDLY_STORAGE_URL: unset for the data dir, or `s3://BUCKET?endpoint=URL&region=R` (path-style
 * addressing; `public_endpoint=URL` when clients reach the store at another address), with the
 * credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN if any).
 */
export function storageFromEnv(env: NodeJS.ProcessEnv): StorageConfig {
  const raw = env.LAVENDLY_STORAGE_URL?.trim();
  // Checked even without a bucket: a typo should stop start-up before someone adds the URL.
  const timeoutMs = Math.round(positive(env, 'LAVENDLY_STORAGE_TIMEOUT_S', 30, MAX_TIMER_S) * 1000);
  if (!raw) return { driver: 'local' };
  const bad = (why: string) => new ConfigError(`LAVENDLY_STORAGE_URL ${why} (expected s3://BUCKET?endpoint=http://host:port&region=us-east-1)`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad('is not a URL');
  }
  if (url.protocol !== 's3:') throw bad(`must start with s3:// (got ${url.protocol}//)`);
  const bucket = url.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw bad(`names an invalid bucket '${bucket}'`);
  if (url.pathname && url.pathname !== '/') throw bad('takes no path after the bucket');
  const region = url.searchParams.get('region') || env.AWS_REGION || 'us-east-1';
  const endpoint = httpUrl(url.searchParams.get('endpoint') || `https://s3.${region}.amazonaws.com`, 'endpoint', bad);
  const publicEndpoint = httpUrl(url.searchParams.get('public_endpoint') || endpoint, 'public_endpoint', bad);
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  if (!accessKeyId || !secretAccessKey) throw new ConfigError('LAVENDLY_STORAGE_URL names an S3 bucket: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY too');
  return { driver: 's3', bucket, endpoint, publicEndpoint, region, accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN?.trim() || null, timeoutMs };
}

function httpUrl(raw: string, name: string, bad: (why: string) => ConfigError): string {
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.username) throw bad(`has an invalid ${name} '${raw}'`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
