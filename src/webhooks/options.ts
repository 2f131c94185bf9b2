import type { AddressPolicy } from './address.js';

/** How webhooks are delivered; `webhookOptionsFromEnv` gives the production defaults. */
export interface WebhookOptions {
  /**
   * Delays before the 2nd, 3rd, ... attempt, in milliseconds. After the first attempt plus one
   * retry per entry, a delivery that still fails is given up on.
   */
  retryScheduleMs: number[];
  /** Each delay is scaled by a random factor in [1 - jitter, 1 + jitter]. */
  jitter: number;
  /** Per attempt: connect, send and read the status line within this time. */
  timeoutMs: number;
  /** Which addresses receivers may have; checked at registration and at every attempt. */
  addressPolicy: AddressPolicy;
  userAgent: string;
  /** Attempts of one account in flight at once, across all workers (src/webhooks/fair-share.ts). */
  accountInFlight: number;
  /**
   * How long a delivery's lock lasts unrenewed: its runner renews it every third of this while
   * the attempt is out, and a dead runner's delivery is taken over half of this after its lock
   * ran out (src/webhooks/delivery-lock.ts).
   */
  lockMs: number;
}

const DEFAULT_RETRY_SCHEDULE_MS = [5_000, 30_000, 120_000, 600_000, 3_600_000];

export const defaultWebhookOptions: WebhookOptions = {
  retryScheduleMs: DEFAULT_RETRY_SCHEDULE_MS,
  jitter: 0.2,
  timeoutMs: 10_000,
  addressPolicy: {},
  userAgent: 'Lavendly-Webhooks/1.0',
  accountInFlight: 2,
  lockMs: 30_000,
};

/** `5s,30s,2m,10m,1h` or plain milliseconds `100,200`. */
function parseSchedule(text: string): number[] {
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  return text.split(',').map((part) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(part);
    if (!m) throw new Error(`invalid retry schedule entry '${part}' (expected e.g. 5s, 2m, 250ms)`);
    return Math.round(Number(m[1]) * units[m[2] ?? 'ms']!);
  });
}

/**
 * LAVENDLY_WEBHOOK_RETRY_SCHEDULE, LAVENDLY_WEBHOOK_TIMEOUT_MS. The address policy is never relaxed
 * from the environment: internal receivers are a test-only arrangement, passed in code.
 */
export function webhookOptionsFromEnv(env: NodeJS.ProcessEnv): WebhookOptions {
  return {
    ...defaultWebhookOptions,
    retryScheduleMs: env.LAVENDLY_WEBHOOK_RETRY_SCHEDULE
      ? parseSchedule(env.LAVENDLY_WEBHOOK_RETRY_SCHEDULE)
      : DEFAULT_RETRY_SCHEDULE_MS,
    timeoutMs: timeoutFromEnv(env.LAVENDLY_WEBHOOK_TIMEOUT_MS),
    accountInFlight: accountInFlightFromEnv(env.LAVENDLY_WEBHOOK_ACCOUNT_IN_FLIGHT),
  };
}

function accountInFlightFromEnv(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return defaultWebhookOptions.accountInFlight;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!(n >= 1 && n <= 1000)) {
    throw new Error(`LAVENDLY_WEBHOOK_ACCOUNT_IN_FLIGHT must be a whole number from 1 to 1000 (got '${raw}')`);
  }
  return n;
}

/** Per-attempt bounds: below 100 ms nothing answers in time; above 10 min a hung receiver holds a
 *  delivery slot (and the delivery's lease) for longer than any retry delay but the last. */
const MIN_TIMEOUT_MS = 100;
const MAX_TIMEOUT_MS = 600_000;

/** Whole milliseconds only: `Number('abc')` would be NaN, which node's timers treat as 1 ms. */
function timeoutFromEnv(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return defaultWebhookOptions.timeoutMs;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!(n >= MIN_TIMEOUT_MS && n <= MAX_TIMEOUT_MS)) {
    throw new Error(`LAVENDLY_WEBHOOK_TIMEOUT_MS must be a whole number from ${MIN_TIMEOUT_MS} to ${MAX_TIMEOUT_MS} (got '${raw}')`);
  }
  return n;
}

export function withDefaults(options: Partial<WebhookOptions> = {}): WebhookOptions {
  return { ...defaultWebhookOptions, ...options };
}

/** The delay before attempt `attempt + 1`, or null when the schedule is exhausted. */
export function retryDelayMs(options: WebhookOptions, attemptsMade: number, random: () => number = Math.random): number | null {
  const base = options.retryScheduleMs[attemptsMade - 1];
  if (base === undefined) return null;
  const factor = 1 + options.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base * factor));
}
