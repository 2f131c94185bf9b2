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
 * Every handler in the server's table is wrapped, ours and the SDK's own (`initialize`,
 * `logging/setLevel`), with the schema the SDK exports for its method, so a handler added later
 * needs no list kept here. The table is private in the SDK's typings: it is checked, so an SDK that
 * moves it fails at start-up rather than silently going back to -32603.
 * test/mcp/invalid-params.test.ts and test/packages/mcp.test.ts cover it.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import * as sdkTypes from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

type Handler = (request: { method: string }, extra: unknown) => Promise<unknown>;
interface RequestSchema {
  safeParse(value: unknown): { success: true } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

/** The SDK's request schema for each method (`tools/call` -> CallToolRequestSchema), read from its exports. */
const schemaByMethod = new Map<string, RequestSchema>();
for (const [name, value] of Object.entries(sdkTypes)) {
  const method = (value as { shape?: { method?: { value?: unknown } } } | undefined)?.shape?.method?.value;
  if (name.endsWith('RequestSchema') && typeof method === 'string') schemaByMethod.set(method, value as unknown as RequestSchema);
}

/** Wraps every handler `server` has now; call it once they are all registered. */
export function answerInvalidParams(server: Server): void {
  const handlers = (server as unknown as { _requestHandlers?: unknown })._requestHandlers;
  if (!(handlers instanceof Map)) throw new Error('@modelcontextprotocol/sdk moved its request handler table: answerInvalidParams (packages/mcp) needs updating');
  for (const [method, inner] of handlers as Map<string, Handler>) {
    const schema = schemaByMethod.get(method);
    if (!schema) continue; // no schema of its own to check against: the SDK's parse stands
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
