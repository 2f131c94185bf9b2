/**
 * Requests whose params do not fit their method answer -32602 Invalid params, naming the fields.
 *
 * SDK 1.x parses a request against its method's schema before the handler runs. A mismatch there
 * escapes as a bare ZodError, which the SDK reports as -32603 Internal error with zod's issue list
 * as the message (modelcontextprotocol/typescript-sdk#2284). That tells an agent that sent
 * `tools/call` without a `name` that the server broke, and it may simply retry. This module puts
 * the same parse in front, with the right code and a readable message; the SDK's own parse then
 * never fails. Each request is parsed twice, which costs little next to the API call a tool makes.
 *
 * It reaches the SDK's handler table (`_requestHandlers`, private in its typings). That table is
 * checked at start-up, so an SDK that moves it fails loudly rather than silently reverting to
 * -32603. test/mcp/invalid-params.test.ts covers methods registered here and the SDK's own.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

type Handler = (request: { method: string }, extra: unknown) => Promise<unknown>;
interface RequestSchema {
  shape: { method: { value: string } };
  safeParse(value: unknown): { success: true } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

export function answerInvalidParams(server: Server, schemas: readonly RequestSchema[]): void {
  const handlers = (server as unknown as { _requestHandlers?: unknown })._requestHandlers;
  if (!(handlers instanceof Map)) throw new Error('@modelcontextprotocol/sdk moved its request handler table: answerInvalidParams (packages/mcp) needs updating');
  for (const schema of schemas) {
    const method = schema.shape.method.value;
    const inner = handlers.get(method) as Handler | undefined;
    if (!inner) continue; // a capability this server does not have
    handlers.set(method, (request: { method: string }, extra: unknown) => {
      const parsed = schema.safeParse(request);
      if (!parsed.success) {
        const fields = parsed.error.issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(request)'}: ${i.message}`);
        return Promise.reject(new McpError(ErrorCode.InvalidParams, `Invalid params for ${method}: ${fields.join('; ')}`));
      }
      return inner(request, extra);
    });
  }
}
