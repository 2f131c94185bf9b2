#!/usr/bin/env node
/** The `lavendly-framework` bin: the generator's command line (generator/program.ts), bundled. */
import { runCli } from '../../../generator/program.js';

runCli(process.argv.slice(2)).then((code) => process.exit(code));
