#!/usr/bin/env node
// Runs the TypeScript CLI from a checkout: tsx's loader is registered, then src/cli/main.ts runs.
// The installed package's `lavendly` is the compiled dist/src/cli/main.js (npm run build).
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// The checkout's tsconfig by path: tsx looks in the current directory otherwise, and from any
// other directory the `@lavendly/framework` path mapping was missing (ERR_MODULE_NOT_FOUND).
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('../src/cli/main.ts');
process.exit(await main(process.argv.slice(2)));
