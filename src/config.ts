import path from 'node:path';

/** Everything the process reads from its environment, read once. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** `postgres://...` switches from the embedded SQLite file to PostgreSQL. */
  databaseUrl: string | null;
  /** Public base URL of the API, used to build signed links. */
  publicBaseUrl: string;
  /** Secret for signing URLs and cursors; generated per data dir when not given. */
  signingSecret: string | null;
  idempotencyWindowS: number;
  /**
   * How long an idempotency claim holds without renewal. A running request renews it every
   * third of this, so it only bounds how long a crashed process's claim blocks a retry.
   */
  idempotencyLeaseS: number;
  rateLimitPerMinute: number;
  /** Connection and request limits of the HTTP server (src/http/server-limits.ts). */
  headersTimeoutS: number;
  requestTimeoutS: number;
  /** A request whose body stalls this long has its connection closed. */
  bodyIdleTimeoutS: number;
  maxConnections: number;
  responseValidation: 'off' | 'log' | 'throw';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = Number(env.PORT ?? 8090);
  const host = env.HOST ?? '127.0.0.1';
  const validation = env.LAVENDLY_RESPONSE_VALIDATION ?? 'log';
  if (!['off', 'log', 'throw'].includes(validation)) {
    throw new Error(`LAVENDLY_RESPONSE_VALIDATION must be off, log or throw (got ${validation})`);
  }
  return {
    port,
    host,
    dataDir: path.resolve(env.LAVENDLY_DATA_DIR ?? './data'),
    databaseUrl: env.DATABASE_URL || null,
    publicBaseUrl: env.LAVENDLY_PUBLIC_URL ?? `http://localhost:${port}`,
    signingSecret: env.LAVENDLY_SIGNING_SECRET ?? null,
    idempotencyWindowS: Number(env.LAVENDLY_IDEMPOTENCY_WINDOW_S ?? 300),
    idempotencyLeaseS: positive(env, 'LAVENDLY_IDEMPOTENCY_LEASE_S', 30),
    rateLimitPerMinute: Number(env.LAVENDLY_RATE_LIMIT_PER_MINUTE ?? 600),
    headersTimeoutS: positive(env, 'LAVENDLY_HEADERS_TIMEOUT_S', 10),
    requestTimeoutS: positive(env, 'LAVENDLY_REQUEST_TIMEOUT_S', 900),
    bodyIdleTimeoutS: positive(env, 'LAVENDLY_BODY_IDLE_TIMEOUT_S', 30),
    maxConnections: positive(env, 'LAVENDLY_MAX_CONNECTIONS', 4096),
    responseValidation: validation as Config['responseValidation'],
  };
}

/** A positive number from the environment, or `fallback` when unset. */
function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got ${raw})`);
  return n;
}
