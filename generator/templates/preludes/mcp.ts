/**
 * What every mcp.gen.ts carries around its `mcpTools` table: the tool definition type, and the
 * lookup and argument-to-request helpers.
 * A real module so that tsc (`npm run typecheck`) checks it with the repository; the mcp
 * emitter copies each `// #region <name>` block into mcp.gen.ts verbatim. Lines outside the regions only
 * stand in for what mcp.gen.ts declares around the blocks (here: the table itself).
 */

// #region types
export type JsonSchema = boolean | { [key: string]: unknown };

export type McpArgLocation = 'path' | 'query' | 'header' | 'body';

export interface McpToolDefinition {
  name: string;
  title: string;
  /** What the tool does, then what the operation's behaviour implies (cost, polling, retries). */
  description: string;
  /** Self-contained JSON Schema (no $refs) of the flattened arguments. */
  inputSchema: {
    type: 'object';
    properties: { [arg: string]: JsonSchema };
    required?: string[];
    additionalProperties: false;
  };
  /** Self-contained JSON Schema of `structuredContent` on success (the operation's response body). */
  outputSchema: { type: 'object'; [key: string]: unknown };
  annotations: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean };
  /** Set when a call needs the user's yes first (asked by elicitation, or the `confirm` argument). */
  confirm: { reason: 'spends_credits' | 'posts_publicly'; limitArg?: string } | null;
  /** Values sent for arguments the caller left out (this tool's own defaults, not the API's). */
  defaults: { [arg: string]: unknown };
  /** The operation the tool calls. */
  operationId: string;
  method: string;
  path: string;
  /** Argument -> place on the HTTP request (`name` is the wire name; '' for a whole-body argument). */
  args: { [arg: string]: { in: McpArgLocation; name: string; explode?: boolean } };
  /** 'flat': body properties are separate arguments; 'single': one argument is the whole body. */
  body:
    | { mode: 'none' }
    | { mode: 'flat'; contentType: string; required: boolean }
    | { mode: 'single'; arg: string; contentType: string; required: boolean };
}
// #endregion

/** In mcp.gen.ts, the table the emitter writes between the two regions. */
declare const mcpTools: McpToolDefinition[];

// #region helpers
export const mcpToolsByName: ReadonlyMap<string, McpToolDefinition> = new Map(mcpTools.map((t) => [t.name, t]));

export interface McpToolRequest {
  path: { [name: string]: unknown };
  query: { [name: string]: unknown };
  headers: { [name: string]: string };
  body?: unknown;
}

/**
 * Tool arguments -> the operation's structured request (for the SDK's generic `request`).
 * Throws on an argument the tool does not take (an excluded one included).
 */
export function toolRequest(tool: McpToolDefinition, input: { [arg: string]: unknown } = {}): McpToolRequest {
  const out: McpToolRequest = { path: {}, query: {}, headers: {} };
  const body: { [name: string]: unknown } = {};
  let hasBody = false;
  for (const [arg, value] of Object.entries(input)) {
    if (value === undefined) continue;
    // Own keys only: an argument called `constructor` must not find Object.prototype's.
    const binding = Object.hasOwn(tool.args, arg) ? tool.args[arg] : undefined;
    if (!binding) throw new TypeError(`${tool.name} takes no argument '${arg}'`);
    if (binding.in === 'body') {
      hasBody = true;
      if (tool.body.mode === 'single') out.body = value;
      else body[binding.name] = value;
    } else if (binding.in === 'header') {
      out.headers[binding.name] = String(value);
    } else {
      out[binding.in][binding.name] = value;
    }
  }
  if (tool.body.mode === 'flat' && (hasBody || tool.body.required)) out.body = body;
  return out;
}
// #endregion
