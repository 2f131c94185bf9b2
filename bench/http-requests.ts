/**
 * The requests bench/http.ts sends, described once so the closed loop (in bench/http.ts's process)
 * and the open-loop generator (bench/load-generator.ts, a process of its own) build them the same
 * way: as raw bytes over bench/raw-client.ts, or through node:http with a keep-alive agent.
 */
import http from 'node:http';
import { RawConnection, rawRequest, type RawResponse } from './raw-client.js';

/** One request, plain data (it crosses to the generator process). */
export interface RequestSpec {
  port: number;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string | number>;
  body?: string;
  /** The status a successful answer has. */
  status: number;
}

/** Which load generator sends the requests: node:http with a keep-alive agent, or raw sockets. */
export type Client = 'node' | 'raw';

/** One request at a time over a connection of its own. */
export interface Connection { send(): Promise<RawResponse>; close(): void }

/** A send of `spec` through node:http, over `agent`'s sockets. */
export function nodeSender(spec: RequestSpec, agent: http.Agent): () => Promise<RawResponse> {
  return () => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: spec.port, agent, method: spec.method, path: spec.path, headers: spec.headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, benchServer: res.headers['x-bench-server'] as string | undefined }));
    });
    req.on('error', reject);
    req.end(spec.body);
  });
}

export const requestBytes = (spec: RequestSpec): Buffer => rawRequest(spec.method, spec.path, spec.headers, spec.body);

/** Opens one connection that sends `spec` each time. */
export function connector(spec: RequestSpec, client: Client): () => Promise<Connection> {
  if (client === 'raw') {
    const bytes = requestBytes(spec);
    return async () => {
      const c = await RawConnection.open(spec.port);
      return { send: () => c.send(bytes), close: () => c.close() };
    };
  }
  return async () => {
    // One socket per agent: a connection is busy or idle as a whole.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    return { send: nodeSender(spec, agent), close: () => agent.destroy() };
  };
}
