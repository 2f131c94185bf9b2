/**
 * Which tools a server offers: `--read-only` keeps the tools that change nothing (readOnlyHint),
 * `--tools a,b` keeps the named ones. Both narrow what an agent can do, for users who want it
 * to look but not touch, or to see only the tools a task needs.
 */
import { mcpTools, type McpToolDefinition } from '../../../generated/mcp.gen.js';

export interface ToolFilter {
  readOnly?: boolean;
  /** Tool names to keep; unknown names are an error (a typo must not silently serve nothing). */
  tools?: readonly string[];
}

export function selectTools(filter: ToolFilter, all: readonly McpToolDefinition[] = mcpTools): McpToolDefinition[] {
  let kept = [...all];
  if (filter.tools?.length) {
    const unknown = filter.tools.filter((n) => !all.some((t) => t.name === n));
    if (unknown.length) throw new Error(`unknown tool${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${all.map((t) => t.name).join(', ')})`);
    kept = kept.filter((t) => filter.tools!.includes(t.name));
  }
  if (filter.readOnly) kept = kept.filter((t) => t.annotations.readOnlyHint === true);
  return kept;
}

/** `--read-only` and `--tools a,b` (or `--tools=a,b`) out of a command line; the rest is returned. */
export function parseFilterArgs(argv: readonly string[]): { filter: ToolFilter; rest: string[] } {
  const filter: ToolFilter = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--read-only') filter.readOnly = true;
    else if (arg === '--tools' || arg.startsWith('--tools=')) {
      const value = arg === '--tools' ? argv[++i] : arg.slice('--tools='.length);
      if (!value) throw new Error('--tools needs a comma-separated list of tool names');
      filter.tools = value.split(',').map((s) => s.trim()).filter(Boolean);
    } else rest.push(arg);
  }
  return { filter, rest };
}
