#!/usr/bin/env node
// Runs the TypeScript CLI from a checkout: tsx's loader is registered, then src/cli/main.ts runs.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
