#!/usr/bin/env node
/**
 * `lavendly-mcp`, the bin of @lavendly/mcp: the stdio MCP server for desktop clients
 * (`npx -y @lavendly/mcp`), configured by LAVENDLY_API_KEY and LAVENDLY_BASE_URL.
 * It exits on its own once its input ends and the calls already made are answered.
 */
import { runMcpStdio } from './stdio.js';

runMcpStdio().catch((err: unknown) => {
  console.error('lavendly-mcp:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
