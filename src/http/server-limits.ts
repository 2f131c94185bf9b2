/**
 * What one HTTP server accepts from its connections, so that idle, slow or numerous clients
 * cannot hold it: a deadline for the request headers (slow-header clients), one for the whole
 * request (drip-fed bodies), an idle limit while a body is arriving (stalled uploads), and a cap
 * on open connections (beyond it, new ones are closed at once).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { loadConfig, type Config } from '../config.js';

export interface ServerLimits {
  headersTimeoutMs: number;
  /** Until the whole request (headers and body) has arrived; the handler's time does not count. */
  requestTimeoutMs: number;
  bodyIdleTimeoutMs: number;
  maxConnections: number;
}

export function serverLimits(config: Pick<Config, 'headersTimeoutS' | 'requestTimeoutS' | 'bodyIdleTimeoutS' | 'maxConnections'>): ServerLimits {
  const headersTimeoutMs = Math.round(config.headersTimeoutS * 1000);
  return {
    headersTimeoutMs,
    // Node refuses a request deadline shorter than the headers deadline.
    requestTimeoutMs: Math.max(headersTimeoutMs, Math.round(config.requestTimeoutS * 1000)),
    bodyIdleTimeoutMs: Math.round(config.bodyIdleTimeoutS * 1000),
    maxConnections: Math.floor(config.maxConnections),
  };
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = serverLimits(loadConfig({}));

/** An HTTP server for `handler` that holds to `limits`. */
export function createLimitedServer(handler: http.RequestListener, limits: ServerLimits): http.Server {
  const server = http.createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks both deadlines on this timer (default every 30 s, which would let a slow client
    // hold on up to 30 s past its deadline).
    connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(limits.headersTimeoutMs / 4))),
    // Node's own refusal is a bare 400; client-error.ts's requireHost answers in the envelope.
    requireHostHeader: false,
  }, handler);
  server.maxConnections = limits.maxConnections;

  // Socket inactivity: closes the connection only while a request is still arriving. A request
  // fully received may take its handler as long as it needs (an import, a long poll) in silence.
  const arriving = new WeakMap<Socket, http.IncomingMessage>();
  server.on('request', (req: http.IncomingMessage) => { arriving.set(req.socket, req); });
  server.timeout = limits.bodyIdleTimeoutMs;
  server.on('timeout', (socket: Socket) => {
    const req = arriving.get(socket);
    if (req && req.complete) return;
    socket.destroy();
  });
  return server;
}
