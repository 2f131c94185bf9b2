#!/usr/bin/env node
/**
 * `lavendly-mcp`, the bin of @lavendly/mcp: the stdio MCP server for desktop clients
 * (`npx -y @lavendly/mcp`), configured by LAVENDLY_API_KEY and LAVENDLY_BASE_URL.
 * It exits on its own once its input ends and the calls already made are answered.
 */
import { parseFilterArgs } from './filters.js';
import { runMcpStdio } from './stdio.js';

const USAGE = 'usage: lavendly-mcp [--read-only] [--tools a,b]';

/** What `--help` prints: a person trying the bin by hand sees how to configure it, not a protocol wait. */
const HELP = `${USAGE}

The Lavendly MCP server over stdio (an MCP client starts it and speaks JSON-RPC on its stdin/stdout).
  --read-only     only the tools that change nothing
  --tools a,b     only the tools named
Environment:
  LAVENDLY_API_KEY    your API key (without it the tools are listed but calls answer unauthorized)
  LAVENDLY_BASE_URL   the API, default http://localhost:8090/v1
`;

// `lavendly-mcp --read-only` / `--tools a,b`: a narrower server.
Promise.resolve()
  .then(() => {
    const args = process.argv.slice(2);
    if (args.includes('--help') || args.includes('-h')) {
      process.stdout.write(HELP);
      return;
    }
    const { filter, rest } = parseFilterArgs(args);
    if (rest.length) throw new Error(`unknown argument ${rest[0]} (${USAGE}; --help for more)`);
    return runMcpStdio({ filter });
  })
  .catch((err: unknown) => {
  console.error('lavendly-mcp:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
