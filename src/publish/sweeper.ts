import type { Knex } from 'knex';
import { runDueDeliveries } from '../webhooks/deliver.js';
import { defaultWebhookOptions, type WebhookOptions } from '../webhooks/options.js';
import { runDuePublications } from './runner.js';
import type { PublishOptions } from './service.js';

export interface SweeperOptions {
  publish?: PublishOptions;
  webhooks?: Partial<WebhookOptions>;
  /** Default 60 s: the job queue does the timely work; this only catches what it missed. */
  intervalMs?: number;
  onError?: (err: unknown) => void;
  /** After a sweep that did not fail (lets the caller log a recovery once). */
  onSuccess?: () => void;
}

/**
 * A safety net beside the job queue: periodically runs due publications (each still claimed
 * exactly once), fails publications whose runner died mid-upload, and attempts due webhook
 * deliveries whose job was lost. Safe to run in every worker process at once.
 */
export function startSweeper(db: Knex, options: SweeperOptions = {}): { stop(): Promise<void> } {
  const webhooks = options.webhooks ?? defaultWebhookOptions;
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) return;
    running = (async () => {
      try {
        await runDuePublications(db, options.publish ?? {});
        await runDueDeliveries(db, webhooks);
        options.onSuccess?.();
      } catch (err) {
        options.onError?.(err);
      } finally {
        running = null;
      }
    })();
  };
  const timer = setInterval(tick, options.intervalMs ?? 60_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
