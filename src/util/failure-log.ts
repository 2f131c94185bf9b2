/** The part of a pino logger (or the worker's logger) this needs. */
export interface StateLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface FailureLog {
  /** Logs the first failure of a run of failures; later ones stay quiet. */
  failed(err: unknown): void;
  /** Logs the recovery once, if the last attempt had failed. */
  succeeded(): void;
}

function text(err: unknown): string {
  return (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 1000);
}

/**
 * For work repeated on a timer (polls, sweeps): while the database is down every attempt fails
 * the same way, and a line per attempt (every 500 ms for a poll) buries everything else. This
 * logs once when the work starts failing and once when it works again.
 */
export function failureLog(log: StateLogger | undefined, what: string, fields: Record<string, unknown> = {}): FailureLog {
  let since: number | null = null;
  return {
    failed(err) {
      if (since !== null) return;
      since = Date.now();
      log?.warn({ ...fields, err: text(err) }, `${what} failed; retrying quietly until it works again`);
    },
    succeeded() {
      if (since === null) return;
      log?.info({ ...fields, failing_for_ms: Date.now() - since }, `${what} works again`);
      since = null;
    },
  };
}
