import type Koa from 'koa';
import pino, { type DestinationStream, type Logger } from 'pino';
import prettyStream from 'pino-pretty';
import { stdoutDestination } from './log-destination.js';

/**
 * Paths pino blanks out wherever they appear in a log line. Access logs never include request
 * headers in the first place; this is the second line of defence for anything logged ad hoc.
 */
export const REDACT_PATHS = [
  'authorization', '*.authorization', '*.*.authorization', 'headers.authorization', 'req.headers.authorization',
  'req.headers.cookie', '*.headers["idempotency-key"]',
  'key', 'api_key', 'apiKey', '*.key', '*.api_key', '*.apiKey', 'secret', '*.secret', 'password', '*.password',
  'signingSecret', '*.signingSecret', 'config.signingSecret', 'databaseUrl', '*.databaseUrl',
];

export interface LoggerOptions {
  level?: string;
  /** Where lines go (tests capture them); default stdout. */
  destination?: DestinationStream;
  /** `auto` (default): pretty lines when stdout is a terminal, JSON lines otherwise. */
  format?: 'auto' | 'json' | 'pretty';
}

let lastMs = -1;
let lastTime = '';

/**
 * pino's `isoTime` (`,"time":"<ISO 8601>"`) formatted once per millisecond: a busy server writes
 * several lines a millisecond (an access line per request), and the Date and its ISO string cost
 * about as much as the rest of the line.
 */
function isoTimeOfMs(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/**
 * The process's one logger. Every line a long-running command writes (banners included) goes
 * through it, so stdout is either all JSON lines (a pipe, a container, a log shipper) or all
 * pretty lines (a person at a terminal), never a mix.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'auto';
  const pretty = !options.destination && (format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true));
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'lavendly' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: isoTimeOfMs,
    },
    // In-process and synchronous (no transport thread): lines are out before an exit.
    pretty ? prettyStream({ sync: true, destination: 1, translateTime: 'SYS:HH:MM:ss.l', ignore: 'service' }) : options.destination ?? stdoutDestination(),
  );
}

/**
 * One JSON line per request: what was asked, by whom, what it answered and how long it took.
 * The line is built from these fields only (never headers, query strings or bodies), so it holds
 * no secret by construction and is written through a child logger without the redaction paths:
 * the wildcard paths cost ~20 us per line, more than the rest of the line together.
 * Answers the writer: call it once the response is final, with the start time from hrtime.bigint().
 */
export function accessLogWriter(logger: Logger): (ctx: Koa.Context, startedNs: bigint) => void {
  const access = logger.child({}, { redact: [] });
  return (ctx, startedNs) => {
    const ms = Number(process.hrtime.bigint() - startedNs) / 1e6;
    const state = ctx.state as { requestId?: string; account?: { id: string } | null; operationId?: string };
    const status = ctx.status;
    const line = {
      request_id: state.requestId,
      method: ctx.method,
      path: ctx.path,
      operation: state.operationId,
      status,
      duration_ms: Math.round(ms * 100) / 100,
      account_id: state.account?.id,
      ip: clientIp(ctx),
      user_agent: ctx.get('user-agent') || undefined,
    };
    // Probes come every few seconds and their state changes are logged on their own.
    if (line.path === '/livez' || line.path === '/readyz') access.debug(line, 'request');
    // A 503 is a designed answer (a database or store outage, logged once on its own; a drain), so
    // an outage does not turn every request it refuses into an error line; other 5xx are faults.
    else if (status === 503) access.warn(line, 'request');
    else if (status >= 500 && status !== 501) access.error(line, 'request');
    else access.info(line, 'request');
  };
}

/**
 * Koa's `ctx.ip` reads `req.socket.remoteAddress`, and Node sets `req.socket` to null once the
 * request stream is destroyed (a body reader that stopped early, the client gone): the line for
 * such a request is still written, without the address.
 */
function clientIp(ctx: Koa.Context): string | undefined {
  try {
    return ctx.ip || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The access log as a middleware of its own (the app folds it into its edge layer, src/http/edge.ts;
 * bench/http-server.ts mounts this one on its bare routes).
 * @public
 */
export function accessLog(logger: Logger): Koa.Middleware {
  const write = accessLogWriter(logger);
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      write(ctx, started);
    }
  };
}
