/**
 * MCP sessions on `/mcp`, held in this process's memory: a client that can ask its user
 * (elicitation) keeps one server and transport across requests, so a tool call can put a question
 * to the user and wait for the answer the client POSTs later. Bounded: a session idle for
 * `idleMs` is closed, and past `max` the oldest goes first. One account holds at most
 * `maxPerAccount` of them (past that its own oldest goes), so a client that opens sessions and
 * never ends them pushes out its own, not every other account's. A session lives in one process only,
 * so behind several processes its requests need sticky routing (by `Mcp-Session-Id`); elsewhere
 * the id is unknown (404) and the client starts over.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { whenIdle } from '../../packages/mcp/src/server.js';

export interface McpSession {
  transport: StreamableHTTPServerTransport;
  server: Server;
  /** The API key that created it: every later request must come with the same one. */
  keyId: string;
  accountId: string;
  /** performance.now() of its last request: monotonic, so a clock step neither closes every session nor keeps idle ones. */
  lastUsed: number;
}

export interface McpSessionLimits {
  /** Close a session after this long without a request (default 10 minutes). */
  idleMs?: number;
  /** Most sessions this process holds; the oldest is closed to make room (default 1000). */
  max?: number;
  /** Most sessions of one account; its oldest is closed to make room (default 50). */
  maxPerAccount?: number;
}

export class McpSessions {
  /** In creation order, so the first entry is the oldest. */
  private readonly open = new Map<string, McpSession>();
  /** Aborted when the server shuts down: the sessions' questions to their users are given up. */
  readonly stopping = new AbortController();
  /** Why recently pushed-out sessions ended, for their clients' next request (the last `max`). */
  private readonly pushedOut = new Map<string, string>();
  /** Closed sessions whose running tool calls are still to be answered. */
  private readonly ending = new Set<McpSession>();
  private readonly idleMs: number;
  private readonly max: number;
  private readonly maxPerAccount: number;
  private readonly sweep: NodeJS.Timeout;

  constructor(limits: McpSessionLimits = {}) {
    this.idleMs = limits.idleMs ?? 10 * 60_000;
    this.max = Math.max(1, limits.max ?? 1000);
    this.maxPerAccount = Math.max(1, limits.maxPerAccount ?? 50);
    this.sweep = setInterval(() => this.closeIdle(), Math.min(this.idleMs, 60_000));
    this.sweep.unref();
  }

  get size(): number {
    return this.open.size;
  }

  /** The session, marked as used now; undefined when unknown, closed or expired. */
  use(id: string): McpSession | undefined {
    const session = this.open.get(id);
    if (!session) return undefined;
    if (performance.now() - session.lastUsed > this.idleMs) {
      this.close(id);
      return undefined;
    }
    session.lastUsed = performance.now();
    return session;
  }

  add(id: string, session: McpSession): void {
    const own = [...this.open].filter(([, s]) => s.accountId === session.accountId).map(([sid]) => sid);
    for (const old of own.slice(0, Math.max(0, own.length - this.maxPerAccount + 1))) {
      this.pushOut(old, `its account opened more than ${this.maxPerAccount} sessions on this server process, and the oldest are closed first; end sessions you no longer use (DELETE)`);
    }
    while (this.open.size >= this.max) this.pushOut(this.open.keys().next().value!, `this server process holds at most ${this.max} sessions, and the oldest are closed first`);
    this.open.set(id, session);
  }

  /**
   * Why a session that is no longer open ended, when it was pushed out by newer ones (otherwise
   * undefined: unknown, expired, ended, or made by another process).
   */
  whyGone(id: string): string | undefined {
    return this.pushedOut.get(id);
  }

  private pushOut(id: string, reason: string): void {
    this.pushedOut.set(id, reason);
    if (this.pushedOut.size > this.max) this.pushedOut.delete(this.pushedOut.keys().next().value!);
    this.close(id);
  }

  /**
   * Ends one session (idempotent): from now on its id answers 404, and its server-to-client (GET)
   * stream ends at once. Its tool calls still running are answered before its streams close:
   * closing them first left the official client waiting for an answer until its own timeout
   * (60 s by default), whether a newer session pushed this one out or the server shut down.
   */
  close(id: string): void {
    const session = this.open.get(id);
    if (!session) return;
    this.open.delete(id);
    this.ending.add(session);
    session.transport.closeStandaloneSSEStream();
    void answered(session.server).then(() => this.end(session));
  }

  private end(session: McpSession): void {
    if (!this.ending.delete(session)) return;
    void session.transport.close().catch(() => {});
    void session.server.close().catch(() => {});
  }

  /** Forgets a session whose transport already closed (client DELETE). */
  forget(id: string): void {
    this.open.delete(id);
  }

  closeIdle(): void {
    const now = performance.now();
    for (const [id, s] of this.open) if (now - s.lastUsed > this.idleMs) this.close(id);
  }

  /** Every session and its open event streams end at once, running tool calls or not. */
  closeAll(): void {
    clearInterval(this.sweep);
    for (const id of [...this.open.keys()]) this.close(id);
    for (const session of [...this.ending]) this.end(session);
  }

  /**
   * On shutdown: every session ends once its running tool calls are answered (a long-poll answers
   * at once then, a call waiting for its user's yes answers that nothing was done), or at
   * `deadlineMs` whatever is still running.
   */
  async drain(deadlineMs: number): Promise<void> {
    clearInterval(this.sweep);
    this.stopping.abort();
    const sessions = [...this.open.values(), ...this.ending];
    for (const id of [...this.open.keys()]) this.close(id);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, deadlineMs); });
    await Promise.race([Promise.all(sessions.map((s) => answered(s.server))), deadline]);
    clearTimeout(timer);
    this.closeAll();
  }
}

/**
 * Resolves once no tool call of `server` is running and the last one's answer is written: a call
 * counts as done when its handler returns, and the SDK writes its answer a few microtasks later,
 * which a macrotask turn lets happen.
 */
async function answered(server: Server): Promise<void> {
  await whenIdle(server);
  await new Promise((resolve) => setImmediate(resolve));
}
