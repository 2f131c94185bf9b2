/**
 * `lavendly mcp`: the CLI entry of the stdio MCP server. The tool code is @lavendly/mcp's
 * (packages/mcp/src), the same code the package's own `lavendly-mcp` bin and `/mcp` run.
 */
import { parseFlags, UsageError, type Command } from '../cli/command.js';
import { selectTools } from '../../packages/mcp/src/filters.js';
import { DEFAULT_BASE_URL, runMcpStdio } from '../../packages/mcp/src/stdio.js';

export const mcpCommand: Command = {
  name: 'mcp',
  summary: 'Serve the MCP tools over stdio, calling the API with LAVENDLY_API_KEY at LAVENDLY_BASE_URL.',
  usage: `lavendly mcp [--base-url URL] [--read-only] [--tools a,b]   (env: LAVENDLY_API_KEY, LAVENDLY_BASE_URL, default ${DEFAULT_BASE_URL})`,
  async run(args, io) {
    const values = parseFlags(args, { 'base-url': { type: 'string' }, 'read-only': { type: 'boolean' }, tools: { type: 'string' } });
    const env = values['base-url'] ? { ...io.env, LAVENDLY_BASE_URL: values['base-url'] } : io.env;
    const filter = { readOnly: values['read-only'] === true, ...(values.tools ? { tools: values.tools.split(',').map((s) => s.trim()).filter(Boolean) } : {}) };
    try {
      selectTools(filter); // an unknown tool name fails here, before the protocol starts
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    // Nothing goes to io.out here: stdout belongs to the protocol.
    await runMcpStdio({ env, filter });
    return 0;
  },
};
