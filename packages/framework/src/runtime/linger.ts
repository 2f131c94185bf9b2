/**
 * A lingering close for a request whose body is refused part-way (nginx's `lingering_close`).
 *
 * Answering before the body is read and then closing at once makes the kernel reset the
 * connection while the client is still sending, and a reset can throw the answer away before the
 * client has read it: the client then sees "connection reset" instead of the 413 or 415 that tells
 * it what went wrong. So after the answer the rest of the body is read and dropped, within bounds:
 * a client that sends the rest in time keeps its (keep-alive) connection, one that stops sending
 * or sends too much is cut off at the bound.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface LingerLimits {
  /** Longest time the rest of the body is read after the answer. */
  ms: number;
  /** Most bytes read and dropped after the answer. */
  bytes: number;
}

export const LINGER_LIMITS: LingerLimits = { ms: 5_000, bytes: 64 * 1024 * 1024 };

export function lingerAfterAnswer(req: IncomingMessage, res: ServerResponse, limits: LingerLimits = LINGER_LIMITS): void {
  res.once('finish', () => {
    if (req.complete || req.destroyed) return;
    let dropped = 0;
    const cutOff = () => { done(); req.socket.destroy(); };
    const onData = (chunk: Buffer) => { dropped += chunk.length; if (dropped > limits.bytes) cutOff(); };
    const timer = setTimeout(cutOff, limits.ms);
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', done);
      req.off('close', done);
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('close', done);
    // A reader that gave up may still be attached (a pipe left paused): detach it, then drain.
    req.unpipe();
    req.resume();
  });
}
