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
  rateLimitPerMinute: number;
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
    rateLimitPerMinute: Number(env.LAVENDLY_RATE_LIMIT_PER_MINUTE ?? 600),
    responseValidation: validation as Config['responseValidation'],
  };
}
