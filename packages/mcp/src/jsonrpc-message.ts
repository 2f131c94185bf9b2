/**
 * Why a parsed JSON value is not a JSON-RPC 2.0 message, said in the client's terms. The SDK's
 * own answer is "Parse error: Invalid JSON-RPC message" (-32700) over HTTP and nothing at all
 * over stdio; JSON-RPC gives valid JSON that is not a message -32600 Invalid Request, with the
 * request's id when it can be told. Shared by the stdio transport and `/mcp`.
 */
import { JSONRPCMessageSchema, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const INVALID_PARAMS = -32602;

interface InvalidMessage {
  /** The message's id when it is one JSON-RPC allows, else null (what the answer must carry then). */
  id: RequestId | null;
  /** `Invalid Request: ...` */
  message: string;
}

/** The message as the SDK parses it, or why it is not one. */
export function parseMessage(value: unknown): { ok: true; message: JSONRPCMessage } | ({ ok: false } & InvalidMessage) {
  const parsed = JSONRPCMessageSchema.safeParse(value);
  if (parsed.success) return { ok: true, message: parsed.data };
  return { ok: false, id: idOf(value), message: `Invalid Request: ${describeInvalid(value)}` };
}

function kind(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 20));
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function idOf(value: unknown): RequestId | null {
  const id = value && typeof value === 'object' ? (value as { id?: unknown }).id : undefined;
  return typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id)) ? id : null;
}

function describeInvalid(value: unknown): string {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'a message must be a JSON object.';
  const m = value as Record<string, unknown>;
  // Only a short string is quoted back: a nested value could be arbitrarily large or deep.
  if (m.jsonrpc !== '2.0') return `"jsonrpc" must be "2.0" (got ${kind(m.jsonrpc)}).`;
  if ('id' in m && idOf(m) === null) return '"id" must be a string or an integer.';
  if ('method' in m && typeof m.method !== 'string') return '"method" must be a string.';
  if ('params' in m && (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params))) return '"params" must be an object.';
  return 'not a JSON-RPC 2.0 request, notification or response (a request needs "method" and "id"; a response "id" and "result" or "error").';
}
