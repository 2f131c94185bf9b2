/**
 * The generator's command line in this checkout (`npm run generate -- ...`, `npx tsx generator/cli.ts lint`);
 * the framework package's `lavendly-framework` bin runs the same program. `generate` is the default command.
 */
import { runCli } from './program.js';

export { generate, type GenerateOptions, type GenerateResult } from './generate.js';

if (process.argv[1]?.endsWith('generator/cli.ts') || process.argv[1]?.endsWith('generator/cli.js')) {
  runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
