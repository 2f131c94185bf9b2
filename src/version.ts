import { readFileSync } from 'node:fs';

/**
 * The package's version, from the package.json one folder up: the repository's in a checkout,
 * the copy next to the compiled tree in dist/ (scripts/build.mjs puts it there).
 */
export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
