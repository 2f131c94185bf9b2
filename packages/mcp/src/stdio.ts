/**
 * `lavendly mcp`: the MCP server over stdio, for desktop MCP clients that start it as a
 * subprocess. It calls a running Lavendly API with the user's key:
 *   LAVENDLY_API_KEY   the API key (required to call tools; tools/list works without it)
 *   LAVENDLY_BASE_URL  the API base URL (default http://localhost:8090/v1)
 * stdout carries the protocol only: anything else this process prints goes to stderr.
 */
import { Lavendly } from '../../../generated/sdk.gen.js';
import { selectTools, type ToolFilter } from './filters.js';
import { createMcpServer, whenIdle } from './server.js';
import { LineStdioTransport } from './stdio-transport.js';

export const DEFAULT_BASE_URL = 'http://localhost:8090/v1';

export interface StdioOptions {
  env?: NodeJS.ProcessEnv;
  /** `--read-only` / `--tools`: which tools to offer (default: all). */
  filter?: ToolFilter;
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
}

/**
 * The API's base URL, refused at start when it cannot be one: otherwise the server would start,
 * say it serves `notaurl`, and fail every tool call with a message about the network.
 */
function checkBaseUrl(raw: string): string {
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new Error(`LAVENDLY_BASE_URL must be an http:// or https:// URL such as ${DEFAULT_BASE_URL} (got '${raw}')`);
  }
  return raw;
}

/** Runs until stdin closes (the client went away) or a signal arrives. */
export async function runMcpStdio(options: StdioOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  // A stray console.log would corrupt the JSON-RPC stream.
  console.log = console.info = console.debug = console.error;
  const apiKey = env.LAVENDLY_API_KEY || undefined;
  const baseUrl = checkBaseUrl(env.LAVENDLY_BASE_URL || DEFAULT_BASE_URL);
  if (!apiKey) console.error('lavendly mcp: LAVENDLY_API_KEY is not set; tool calls will answer unauthorized until it is.');
  // Retries stay short: an agent would rather hear "rate limited, wait 30 s" than hang.
  const client = new Lavendly({ apiKey, baseUrl, maxRetries: 2, maxRetryAfter: 10_000 });
  const tools = selectTools(options.filter ?? {});
  const server = createMcpServer({ client, tools });
  // Not the SDK's StdioServerTransport: it leaves unreadable lines unanswered and stops at a long one.
  const transport = new LineStdioTransport(options.stdin ?? process.stdin, options.stdout ?? process.stdout);
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  const stop = () => void server.close();
  // Input ended (the client is done, or a pipe ran out): answer the calls already made, then stop.
  // The first turn lets the last messages' handlers start, the last lets their answers go out.
  const drain = () => setImmediate(() => void whenIdle(server).then(() => setImmediate(stop)));
  const stdin = options.stdin ?? process.stdin;
  stdin.once('end', drain);
  stdin.once('close', drain);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await server.connect(transport);
  console.error(`lavendly mcp: serving ${baseUrl} over stdio (${tools.length} tools${options.filter?.readOnly ? ', read-only' : ''})`);
  await closed;
}
