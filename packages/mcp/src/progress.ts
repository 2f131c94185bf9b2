/**
 * Progress notifications for a tool call whose request carried a `progressToken`: one when the
 * call starts and one a second while it waits (a `wait_s` long-poll can hold a call for 30 s, and
 * a client may otherwise take the silence for a hang). None at the end: the official client
 * handles notifications a microtask late but responses at once, so a notification sent just
 * before the result reaches it after the result and is dropped as an unknown token.
 * Progress counts seconds waited; `total` is the `wait_s` asked for, when there is one.
 */
import type { ProgressNotification, ServerNotification } from '@modelcontextprotocol/sdk/types.js';

export interface ProgressExtra {
  _meta?: { progressToken?: string | number };
  sendNotification: (notification: ServerNotification) => Promise<void>;
}

export interface ProgressReporter {
  /** No more notifications: the result is about to be sent. */
  stop(): void;
}

const TICK_MS = 1_000;

export function startProgress(extra: ProgressExtra, tool: string, waitS: unknown, tickMs = TICK_MS): ProgressReporter | null {
  const token = extra._meta?.progressToken;
  if (token === undefined) return null;
  const total = typeof waitS === 'number' && waitS > 0 ? waitS : undefined;
  const started = Date.now();
  let last = -1;
  let ended = false;

  const send = (message: string): Promise<void> => {
    // Progress must increase with every notification, even when two fall in the same instant.
    const progress = Math.max(Math.round((Date.now() - started) / 100) / 10, last + 0.1);
    last = Math.round(progress * 10) / 10;
    const params: ProgressNotification['params'] = { progressToken: token, progress: last, message };
    if (total !== undefined) params.total = Math.max(total, last);
    return extra.sendNotification({ method: 'notifications/progress', params }).catch(() => {});
  };
  const waiting = () => (total !== undefined
    ? `${tool}: waiting up to ${total} s for the status to change (${Math.floor((Date.now() - started) / 1000)} s so far)`
    : `${tool}: working (${Math.floor((Date.now() - started) / 1000)} s so far)`);

  void send(total !== undefined ? `${tool}: waiting up to ${total} s for the status to change` : `${tool}: started`);
  const timer = setInterval(() => { if (!ended) void send(waiting()); }, tickMs);
  timer.unref?.();

  return {
    stop() {
      ended = true;
      clearInterval(timer);
    },
  };
}
