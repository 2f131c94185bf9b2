/**
 * A JSON-RPC message that parsed but cannot be taken as sent, held to the REST API's rules (the
 * framework's body reader): nested deeper than MAX_JSON_DEPTH, a key `__proto__` (zod, and so the
 * API, silently drops it) or a number beyond a double (1e400: JSON.parse makes it Infinity, which
 * reaches the API as null). Shared by the stdio transport and `/mcp`, so both answer alike.
 *
 * The JSON did parse, so this is not -32700: a request whose params hold it gets -32602 naming the
 * path (`params.arguments.metadata.n`) and its own id, anything else -32600. The framework's
 * checks are imported from its source (pure functions, bundled into @lavendly/mcp, which does not
 * depend on the framework).
 */
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { MAX_JSON_DEPTH, nestsTooDeep } from '../../framework/src/runtime/json-depth.js';
import { unkeepableJson } from '../../framework/src/runtime/json-values.js';
import { idOf, INVALID_PARAMS, INVALID_REQUEST } from './jsonrpc-message.js';

export interface MessageRefusal {
  code: number;
  /** The request's id when it is a single message with one, else null. */
  id: RequestId | null;
  message: string;
}

/** Why `value` (parsed from `text`, a single message or a batch) cannot be taken, or null. */
export function unkeepableMessage(text: string, value: unknown): MessageRefusal | null {
  const issue = nestsTooDeep(text)
    ? { path: tooDeepAt(value, 1, []) ?? [], message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels.` }
    : unkeepableJson(text, value);
  if (!issue) return null;
  const single = typeof value === 'object' && value !== null && !Array.isArray(value);
  const id = single ? idOf(value) : null;
  const method = single ? (value as { method?: unknown }).method : undefined;
  const where = showPath(issue.path);
  if (id !== null && typeof method === 'string' && issue.path[0] === 'params') {
    return { code: INVALID_PARAMS, id, message: `Invalid params for ${method}: ${where}: ${issue.message}` };
  }
  return { code: INVALID_REQUEST, id, message: `Invalid Request: ${where ? `${where}: ` : ''}${issue.message}` };
}

/** The path to the first container below MAX_JSON_DEPTH levels (recursion bounded by that depth). */
function tooDeepAt(v: unknown, level: number, path: (string | number)[]): (string | number)[] | null {
  if (typeof v !== 'object' || v === null) return null;
  if (level > MAX_JSON_DEPTH) return [...path];
  const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  for (const [key, child] of entries) {
    path.push(key);
    const found = tooDeepAt(child, level + 1, path);
    path.pop();
    if (found) return found;
  }
  return null;
}

/** `params.arguments.shots.0.x`; a path past 8 steps is cut (a too-deep one has 64). */
function showPath(path: readonly (string | number)[]): string {
  const shown = path.slice(0, 8).map(String).join('.');
  return path.length > 8 ? `${shown}…` : shown;
}
