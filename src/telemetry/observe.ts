/**
 * What library code reports to telemetry: ffmpeg runs, media provider calls, webhook delivery
 * outcomes and job runs. The process's telemetry (src/telemetry/index.ts) installs one observer at
 * start-up; with none installed every function here is a null check, so the libraries (media,
 * webhooks, jobs) call them unconditionally and import nothing of prom-client or OpenTelemetry.
 */

export type RunOutcome = 'ok' | 'error' | 'timeout' | 'aborted';
export type ProviderOperation = 'generate_image' | 'generate_clip' | 'review';
/** A webhook delivery attempt's result: 2xx, failed and to be retried, or failed for good. */
export type WebhookOutcome = 'succeeded' | 'retrying' | 'failed';

/** The job fields a job run is observed by. */
export interface ObservedJob {
  id: string;
  type: string;
  attempts: number;
  /** W3C traceparent of the span that enqueued the job, if tracing was on then. */
  trace_context: string | null;
}

export interface Observer {
  ffmpeg(tool: 'ffmpeg' | 'ffprobe', seconds: number, outcome: RunOutcome): void;
  provider(operation: ProviderOperation, provider: string, seconds: number, outcome: RunOutcome): void;
  webhookDelivery(outcome: WebhookOutcome): void;
  /** Runs one job attempt (inside a span when tracing is on). */
  runJob<T>(job: ObservedJob, run: () => Promise<T>): Promise<T>;
  /** The current span as a W3C traceparent, stored with a job it enqueues; null when none. */
  traceparent(): string | null;
}

let active: Observer | null = null;

/** Installs (or with null removes) the process's observer; answers the one it replaced. */
export function installObserver(observer: Observer | null): Observer | null {
  const previous = active;
  active = observer;
  return previous;
}

export function observeFfmpeg(tool: 'ffmpeg' | 'ffprobe', seconds: number, outcome: RunOutcome): void {
  active?.ffmpeg(tool, seconds, outcome);
}

export function observeWebhookDelivery(outcome: WebhookOutcome): void {
  active?.webhookDelivery(outcome);
}

export function runObservedJob<T>(job: ObservedJob, run: () => Promise<T>): Promise<T> {
  return active ? active.runJob(job, run) : run();
}

export function currentTraceparent(): string | null {
  return active ? active.traceparent() : null;
}

/** Times one provider call; the outcome is `error` when it throws (`aborted` when its signal fired). */
export async function observeProviderCall<T>(
  operation: ProviderOperation, provider: string, signal: AbortSignal | undefined, call: () => Promise<T>,
): Promise<T> {
  const observer = active;
  if (!observer) return call();
  const started = performance.now();
  let outcome: RunOutcome = 'error';
  try {
    const result = await call();
    outcome = 'ok';
    return result;
  } catch (err) {
    if (signal?.aborted) outcome = 'aborted';
    throw err;
  } finally {
    observer.provider(operation, provider, (performance.now() - started) / 1000, outcome);
  }
}
