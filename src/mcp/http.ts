/**
 * The MCP server over Streamable HTTP at `/mcp`, as Koa middleware on the API server.
 *
 * Stateless by default: every POST gets a fresh MCP server and transport (no session ids), so any
 * process behind a load balancer can answer any request; without a session, GET and DELETE answer
 * 405, which MCP clients understand. The one exception is a client that declares elicitation when
 * it initializes: asking its user in the middle of a tool call needs a server that stays, so it
 * gets a session (`Mcp-Session-Id`, src/mcp/sessions.ts) whose later POST/GET/DELETE go to the
 * same transport. The caller authenticates with its own API key (`Authorization: Bearer <key>`)
 * on every request, which is checked here and forwarded to the SDK client the tools use to call
 * this same server's REST API; an MCP caller can do exactly what its key can, and a session
 * answers only the key that created it.
 * The tools are @lavendly/mcp's (packages/mcp/src/server.ts): the stdio package serves the same code.
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type Koa from 'koa';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { AccountsService } from '../accounts/service.js';
import { authenticate } from '../http/auth.js';
import type { RateLimiter } from '../http/rate-limit.js';
import type { LavendlyState } from '../http/context.js';
import { Lavendly } from '../../generated/sdk.gen.js';
import { createMcpServer } from '../../packages/mcp/src/server.js';
import { isJsonContentType, readJsonRpcBody, wantsProgress } from './progress-stream.js';
import { McpSessions } from './sessions.js';

export interface McpHttpOptions {
  accounts: AccountsService;
  /** Where the API is mounted on this server (default `/v1`). */
  basePath?: string;
  /** Where the MCP endpoint is (default `/mcp`). */
  path?: string;
  /**
   * Base URL the tools call. Default: this server itself, at the local address and port the
   * request came in on (always reachable from here, whatever port was bound).
   */
  apiBaseUrl?: string | ((ctx: Koa.Context) => string);
  /** Largest JSON-RPC request body in bytes (default 4 MB). */
  maxBodyBytes?: number;
  /** Failed authentications per client address, shared with the API's operations. */
  authFailures?: RateLimiter;
  /** Origins allowed besides the server's own (for example its public URL's); default none. */
  allowedOrigins?: readonly string[];
  /** Where sessions of elicitation-capable clients live (default: a store of this middleware's own). */
  sessions?: McpSessions;
  /**
   * False: no sessions at all, for processes behind a load balancer that cannot route by
   * `Mcp-Session-Id`. A session opened on one process answers 404 on every other, so a client
   * that can ask its user could not even finish connecting; without sessions it is served as
   * every other client is (the agent asks the user and passes `confirm: true`).
   */
  openSessions?: boolean;
}

/**
 * Browsers send `Origin`; a page on another site must not drive a user's MCP session here (DNS
 * rebinding, cross-site requests), so the specification says to refuse it. No Origin (desktop
 * clients, servers) and the server's own origin are fine.
 */
export function originAllowed(ctx: Koa.Context, allowed: readonly string[]): boolean {
  const origin = ctx.get('origin');
  if (!origin) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  // The request's own origin counts only when the Host is an address or localhost: with a DNS
  // name, a rebinding page on the attacker's name would send a matching Origin and Host.
  const literalHost = isIP(ctx.hostname.replace(/^\[|\]$/g, '')) !== 0 || ctx.hostname === 'localhost';
  if (literalHost && parsed.host === ctx.host && parsed.protocol === `${ctx.protocol}:`) return true;
  return allowed.some((a) => {
    try {
      return new URL(a).origin === parsed.origin;
    } catch {
      return false;
    }
  });
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

export function mcpHttp(options: McpHttpOptions): Koa.Middleware {
  const endpoint = options.path ?? '/mcp';
  const basePath = (options.basePath ?? '/v1').replace(/\/+$/, '');
  const sessions = options.sessions ?? new McpSessions();
  const maxBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const auth = authenticate(options.accounts, { secured: true, scopes: [], failures: options.authFailures });
  const baseUrlFor = (ctx: Koa.Context): string => {
    if (typeof options.apiBaseUrl === 'function') return options.apiBaseUrl(ctx);
    if (options.apiBaseUrl) return options.apiBaseUrl;
    const socket = ctx.req.socket;
    return `http://${urlHost(socket.localAddress ?? '127.0.0.1')}:${socket.localPort}${basePath}`;
  };

  return async (ctx, next) => {
    if (ctx.path !== endpoint && ctx.path !== `${endpoint}/`) return next();
    (ctx.state as LavendlyState).operationId = 'mcp'; // the access log's name for these requests
    if (!originAllowed(ctx, options.allowedOrigins ?? [])) {
      ctx.status = 403;
      ctx.body = { jsonrpc: '2.0', error: { code: -32000, message: `Origin ${ctx.get('origin')} may not use this MCP endpoint.` }, id: null };
      return;
    }
    // Who calls decides what the tools may do: no valid key, no MCP (401 with the envelope).
    // (/mcp's 401 carries the OAuth resource metadata: src/http/console/mcp-oauth.ts.)
    await auth(ctx, async () => {});
    const account = (ctx.state as LavendlyState).account;
    if (!account) return; // authenticate answered 401
    const sessionId = ctx.get('mcp-session-id');
    if (sessionId) {
      const session = sessions.use(sessionId);
      if (!session) {
        // The specification's answer for an unknown or expired session: the client starts over.
        const pushedOut = sessions.whyGone(sessionId);
        rpcError(ctx, 404, -32001, pushedOut
          ? `Session not found: it was closed because ${pushedOut}. Initialize again.`
          : 'Session not found: it expired, was ended, or lives on another server process. Initialize again.');
        return;
      }
      if (session.keyId !== account.keyId) {
        rpcError(ctx, 403, -32000, 'This MCP session belongs to another API key; use the key that initialized it, or initialize a new session.');
        return;
      }
      const peeked = ctx.method === 'POST' ? await peekBody(ctx) : null;
      if (peeked === false) return;
      ctx.respond = false;
      await session.transport.handleRequest(ctx.req, ctx.res, peeked?.message);
      return;
    }
    if (ctx.method !== 'POST') {
      ctx.set('Allow', 'POST');
      rpcError(ctx, 405, -32000, `${ctx.method} needs an Mcp-Session-Id: without a session this MCP endpoint is stateless; POST JSON-RPC messages to ${endpoint}.`);
      return;
    }
    const apiKey = BEARER.exec(ctx.get('authorization'))![1]!;
    const client = new Lavendly({ apiKey, baseUrl: baseUrlFor(ctx), maxRetries: 2, maxRetryAfter: 10_000 });
    const peeked = await peekBody(ctx);
    if (peeked === false) return;
    const server = createMcpServer({ client, stopping: sessions.stopping.signal });
    // A server shutting down opens no session: it would outlive the drain that ended the others.
    // The client is served without one, as with openSessions off.
    const sessionsOpen = options.openSessions !== false && !sessions.stopping.signal.aborted;
    if (peeked && sessionsOpen && canElicit(peeked.message)) {
      // Answers are event streams, so a tool call can send its question on its own response.
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        enableJsonResponse: false,
        maxRequestBodySize: maxBytes,
        onsessioninitialized: (id) => sessions.add(id, { transport, server, keyId: account.keyId, accountId: account.id, lastUsed: performance.now() }),
        onsessionclosed: (id) => sessions.close(id),
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.forget(transport.sessionId);
      };
      // An initialize that was refused made no session: nothing is kept for it.
      ctx.res.once('close', () => {
        if (!transport.sessionId) void server.close();
      });
      await server.connect(transport);
      ctx.respond = false;
      await transport.handleRequest(ctx.req, ctx.res, peeked.message);
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: !(peeked && wantsProgress(peeked.message)),
      maxRequestBodySize: maxBytes,
    });
    ctx.res.once('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    ctx.respond = false;
    await transport.handleRequest(ctx.req, ctx.res, peeked?.message);
  };

  /**
   * A JSON body read and parsed (null: not JSON, left to the transport, which refuses it);
   * false when it was refused here (too large, not JSON).
   */
  async function peekBody(ctx: Koa.Context): Promise<{ message: unknown } | null | false> {
    if (!isJsonContentType(ctx.get('content-type'))) return null;
    const peeked = await readJsonRpcBody(ctx.req, maxBytes);
    if (peeked.ok) return { message: peeked.message };
    rpcError(ctx, peeked.status, peeked.code, peeked.message, peeked.id);
    return false;
  }
}

/** An `initialize` from a client that can ask its user questions (elicitation). */
function canElicit(message: unknown): boolean {
  return isInitializeRequest(message) && message.params.capabilities.elicitation !== undefined;
}

function rpcError(ctx: Koa.Context, status: number, code: number, message: string, id: RequestId | null = null): void {
  ctx.status = status;
  ctx.body = { jsonrpc: '2.0', error: { code, message }, id };
}

/** A socket address as a URL host: IPv4-mapped IPv6 unwrapped, IPv6 bracketed. */
function urlHost(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4) return v4[1]!;
  return address.includes(':') ? `[${address}]` : address;
}
