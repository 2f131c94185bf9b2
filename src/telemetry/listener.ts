import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import type { Logger } from 'pino';
import { edge } from '../http/edge.js';
import { ApiError } from '../http/errors.js';

export interface MetricsListener {
  port: number;
  close(): Promise<void>;
}

/**
 * `GET /metrics` on a port of its own (LAVENDLY_METRICS_PORT): what a `worker` process, which has
 * no API port, is scraped on, and for `serve` a way to keep metrics off the public port.
 * Anything else there is a 404 envelope.
 */
export async function listenForScrapes(endpoint: Koa.Middleware, opts: { host: string; port: number; logger: Logger }): Promise<MetricsListener> {
  const app = new Koa();
  app.silent = true;
  app.use(edge({ logger: opts.logger, draining: () => false }));
  app.use(endpoint);
  app.use((ctx) => {
    throw new ApiError('not_found', `Only GET /metrics is served on this port (not ${ctx.method} ${ctx.path}).`);
  });
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  opts.logger.info({ port }, 'metrics: serving GET /metrics on a port of its own');
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
