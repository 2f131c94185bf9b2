import http from 'node:http';
import https from 'node:https';
import { pinnedLookup } from '../net/pinned-lookup.js';
import type { ResolvedTarget } from './address.js';

export interface SendResult {
  status: number | null;
  error: string | null;
  durationMs: number;
}

/** How much of a receiver's answer we read before hanging up; the body is never stored. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** ... and for how long, after the status line. */
const BODY_GRACE_MS = 1_000;

/**
 * POSTs `body` to an already vetted target. The socket is pinned to the vetted address (the
 * `lookup` hook answers it whatever the name), redirects are not followed (node's client never
 * does; a 3xx is just a failed attempt), and connecting, sending and the status line are bounded
 * by `timeoutMs`.
 */
export function postPinned(
  target: ResolvedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<SendResult> {
  // The monotonic clock: a step of the wall clock mid-attempt would log a negative duration (or a
  // minute-long one, which then steers this account's pace, src/webhooks/fair-share.ts).
  const started = performance.now();
  const lookup = pinnedLookup(target.address, target.family);
  const client = target.url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (status: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, error, durationMs: Math.round(performance.now() - started) });
    };
    const req = client.request(
      target.url,
      {
        method: 'POST',
        lookup,
        agent: false,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        // The status line is the answer: the attempt is decided now. A receiver dripping its body
        // after a 2xx has still accepted the event; waiting for the body would time the attempt
        // out and send the event again.
        finish(res.statusCode ?? null, null);
        // The body is never stored: read a little of it (so a receiver finishing its answer sees
        // no reset), then hang up.
        let seen = 0;
        const hangUp = setTimeout(() => res.destroy(), BODY_GRACE_MS);
        hangUp.unref();
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > MAX_RESPONSE_BYTES) res.destroy();
        });
        res.on('close', () => clearTimeout(hangUp));
        res.on('error', () => {});
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => finish(null, err.message));
    req.end(body);
  });
}
