#!/usr/bin/env node
/**
 * `lavendly-mcp`, the bin of @lavendly/mcp: the stdio MCP server for desktop clients
 * (`npx -y @lavendly/mcp`), configured by LAVENDLY_API_KEY and LAVENDLY_BASE_URL.
 * It exits on its own once its input ends and the calls already made are answered.
 */
import { parseFilterArgs } from './filters.js';
import { runMcpStdio } from './stdio.js';

// `lavendly-mcp --read-only` / `--tools a,b`: a narrower server.
Promise.resolve()
  .then(() => {
    const { filter, rest } = parseFilterArgs(process.argv.slice(2));
    if (rest.length) throw new Error(`unknown argument ${rest[0]} (usage: lavendly-mcp [--read-only] [--tools a,b])`);
    return runMcpStdio({ filter });
  })
  .catch((err: unknown) => {
  console.error('lavendly-mcp:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
