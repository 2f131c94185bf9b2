#!/usr/bin/env node
// Runs the TypeScript CLI from a checkout: tsx's loader is registered, then src/cli/main.ts runs.
// The installed package's `lavendly` is the compiled dist/src/cli/main.js (npm run build).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exit(await main(process.argv.slice(2)));
