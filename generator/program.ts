/**
 * The command line, on commander: `generate` (the default), `check`, `lint`, `init`, `diff`.
 * Every failure the user can cause is one line starting `error:` and exit code 1; unknown flags
 * are refused by commander the same way.
 */
import { watch } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { explainDrift, formatExplanation } from './changes.js';
import { loadConfig, type ProjectConfig } from './config.js';
import { diffSpecs, loadBase } from './diff.js';
import { DEFAULT_OUT, DEFAULT_SPEC, regenerateCommandFor } from './shared/emitter.js';
import { emitterNames } from './emitters/registry.js';
import { displayPath, generate } from './generate.js';
import { initProject } from './init.js';
import { formatFinding, lintSpec, type LintFinding } from './lint.js';
import { loadSpecDocument } from './load.js';
import { SpecError } from './spec-doc.js';
import { syncHandlerModules } from './stubs.js';
import { FRAMEWORK_VERSION } from './version.js';

/** An error the user caused: printed as one line, exit 1. */
class UsageError extends Error {}

interface GenerateFlags {
  config?: string;
  spec?: string;
  out?: string;
  packages?: string;
  only?: string;
  check?: boolean;
  watch?: boolean;
  spectral?: boolean;
}

/** With a config file the project regenerates with the bin and no flags. */
const CONFIGURED_COMMAND = 'lavendly-framework generate';

function settings(flags: GenerateFlags): ProjectConfig & { spec: string; out: string; command: string | undefined } {
  const { config, file } = loadConfig(flags.config);
  const only = flags.only !== undefined ? flags.only.split(',').map((s) => s.trim()).filter(Boolean) : config.only;
  const unknown = (only ?? []).filter((n) => !emitterNames.includes(n));
  if (unknown.length) throw new UsageError(`--only: unknown emitter(s) ${unknown.join(', ')} (known: ${emitterNames.join(', ')})`);
  return {
    ...config,
    spec: flags.spec ?? config.spec ?? DEFAULT_SPEC,
    out: flags.out ?? config.out ?? DEFAULT_OUT,
    ...(flags.packages ?? config.packages ? { packages: flags.packages ?? config.packages } : {}),
    ...(only ? { only } : {}),
    spectral: flags.spectral === false ? false : config.spectral ?? true,
    command: file && !flags.spec && !flags.out ? CONFIGURED_COMMAND : undefined,
  };
}

/** Lint findings as lines; throws when there is an error among them. */
async function lintOrFail(spec: string, spectral: boolean, log: (l: string) => void): Promise<number> {
  const started = performance.now();
  const findings = await lintSpec(spec, { spectral });
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length) {
    for (const f of errors) console.error(formatFinding(f));
    throw new UsageError(`${spec}: ${errors.length} lint error(s); nothing generated`);
  }
  const warnings = findings.length - errors.length;
  if (warnings) log(`lint: ${warnings} warning(s) (\`lint\` lists them)`);
  return performance.now() - started;
}

async function runGenerate(flags: GenerateFlags): Promise<number> {
  const s = settings(flags);
  const started = performance.now();
  const log = (line: string) => console.log(line);
  const lintMs = await lintOrFail(s.spec, s.spectral !== false, log);
  const result = await generate({ spec: s.spec, out: s.out, packages: s.packages, only: s.only, check: flags.check, log, regenerateCommand: s.command });
  const layout = s.handlers ? { handlersDir: s.handlers, generatedDir: s.out, context: s.context ?? { type: 'unknown', from: s.out } } : null;
  const stubEdits = layout ? await syncHandlerModules(result.ir, layout, !flags.check) : [];
  console.log([{ name: 'lint', ms: lintMs }, ...result.timings].map((t) => `${t.name} ${Math.round(t.ms)}ms`).join(', ') + `; total ${Math.round(performance.now() - started)}ms`);
  if (flags.check) {
    if (result.drifted.length || stubEdits.length) {
      console.error(`generated files are out of date (run \`${s.command ?? regenerateCommandFor(displayPath(s.spec), displayPath(s.out))}\`):`);
      for (const f of result.drifted) console.error(`  ${f.includes('/') ? f : path.posix.join(displayPath(s.out), f)}`);
      const files = result.files.filter((f) => !f.root).map((f) => ({ file: f.file, text: f.text, old: result.previous.get(f.file) ?? null }));
      for (const line of formatExplanation(explainDrift(result.ir, files))) console.error(line);
      for (const e of stubEdits) console.error(`${e.file}: missing handler stub(s) for ${e.added.join(', ')}`);
      return 1;
    }
    console.log(`check: ${result.files.length} files up to date`);
    return 0;
  }
  for (const e of stubEdits) console.log(`${e.created ? 'created  ' : 'stubbed  '} ${e.file}: ${e.added.join(', ')}`);
  return 0;
}

/**
 * Regenerates whenever a spec file changes: the folders of the root and of every file it references
 * are watched (refreshed after each run, as refs come and go). Errors are printed, not fatal. What
 * changed is decided by content (load.ts), so a quick save that keeps a file's size and timestamp
 * tick is still regenerated.
 */
async function watchGenerate(flags: GenerateFlags): Promise<number> {
  const s = settings(flags);
  const watched = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve<unknown>(undefined);
  const onChange = (_event: string, file: string | null) => {
    if (file && !/\.(ya?ml|json)$/i.test(file)) return;
    clearTimeout(timer);
    timer = setTimeout(() => { running = running.then(once); }, 100);
  };
  const watchFolders = async () => {
    const files = await loadSpecDocument(s.spec).then((l) => l.files, () => [path.resolve(s.spec)]);
    for (const dir of new Set(files.map((f) => path.dirname(f)))) {
      if (watched.has(dir)) continue;
      watched.add(dir);
      watch(dir, onChange);
      console.log(`watching ${displayPath(dir)} for changes (Ctrl-C stops)`);
    }
  };
  const once = async () => {
    const code = await runGenerate(flags).catch((e) => { console.error(`error: ${(e as Error).message}`); return 1; });
    await watchFolders();
    return code;
  };
  await once();
  return new Promise<number>(() => {});
}

function printFindings(findings: LintFinding[]): number {
  for (const f of findings) (f.severity === 'error' ? console.error : console.log)(formatFinding(f));
  const errors = findings.filter((f) => f.severity === 'error').length;
  console.log(`lint: ${errors} error(s), ${findings.length - errors} warning(s)`);
  return errors ? 1 : 0;
}

const generateOptions = (cmd: Command): Command => cmd
  .option('--config <file>', 'settings file (default ./lavendly.config.json when present)')
  .option('--spec <file>', `OpenAPI document, one file or the root of several (default ${DEFAULT_SPEC})`)
  .option('--out <dir>', `output folder (default ${DEFAULT_OUT})`)
  .option('--packages <dir>', 'folder for publishable package files (default packages)')
  .addOption(new Option('--only <emitters>', `comma-separated emitters to run, of: ${emitterNames.join(', ')}`))
  .option('--no-spectral', 'skip Spectral (the built-in checks still run)');

export function buildProgram(exit: (code: number) => void): Command {
  const program = new Command('lavendly-framework')
    .description('Schema-first API framework: generate types, validators, routes and SDKs from an OpenAPI spec.')
    .version(FRAMEWORK_VERSION, '-v, --version')
    .showSuggestionAfterError(true);
  const done = (p: Promise<number>) => p.then(exit);

  generateOptions(program.command('generate', { isDefault: true }).description('lint the spec, then write the generated files'))
    .option('--check', 'write nothing; exit 1 naming what is out of date and which schemas and operations changed')
    .option('-w, --watch', 'regenerate whenever the spec changes')
    .action((flags: GenerateFlags) => done(flags.watch ? watchGenerate(flags) : runGenerate(flags)));

  generateOptions(program.command('check').description('like `generate --check`: exit 1 when generated files are stale'))
    .action((flags: GenerateFlags) => done(runGenerate({ ...flags, check: true })));

  program.command('lint [spec]').description('built-in checks and Spectral\'s OpenAPI rules; exit 1 on an error')
    .option('--config <file>', 'settings file')
    .option('--no-spectral', 'built-in checks only')
    .action((spec: string | undefined, flags: { config?: string; spectral?: boolean }) => done((async () => {
      const s = settings({ config: flags.config, spec });
      return printFindings(await lintSpec(s.spec, { spectral: flags.spectral !== false && s.spectral !== false }));
    })()));

  program.command('init <spec>').description('scaffold a project from a spec: package.json, server, a handler module per tag, a test')
    .option('--dir <dir>', 'where to create it', '.')
    .option('--name <name>', 'package name (default the folder name)')
    .option('--framework <spec>', `how package.json depends on @lavendly/framework (default ${FRAMEWORK_VERSION}; a tarball path works)`)
    .action((spec: string, flags: { dir: string; name?: string; framework?: string }) => done((async () => {
      const findings = (await lintSpec(spec, { spectral: false })).filter((f) => f.severity === 'error');
      if (findings.length) return printFindings(findings);
      const files = await initProject({ spec, dir: flags.dir, name: flags.name, framework: flags.framework });
      for (const f of files) console.log(`created   ${path.join(flags.dir, f)}`);
      console.log(`next: cd ${flags.dir} && npm install && npm run generate && npm start`);
      return 0;
    })()));

  program.command('diff').description('classify the changes since a base version of the spec; exit 1 when any breaks existing clients')
    .requiredOption('--base <file-or-git-ref>', 'the older spec: a file, or a git ref to read the same path from')
    .option('--spec <file>', 'the newer spec (default from the config, else spec/openapi.yaml)')
    .option('--config <file>', 'settings file')
    .option('--json', 'print the changes as JSON')
    .action((flags: { base: string; spec?: string; config?: string; json?: boolean }) => done((async () => {
      const s = settings({ config: flags.config, spec: flags.spec });
      const changes = diffSpecs(await loadBase(flags.base, s.spec), (await loadSpecDocument(s.spec)).root);
      const breaking = changes.filter((c) => c.breaking);
      if (flags.json) console.log(JSON.stringify({ breaking: breaking.length, changes }, null, 2));
      else {
        for (const c of changes) console.log(`${c.breaking ? 'breaking    ' : 'non-breaking'} ${c.where}: ${c.message}`);
        console.log(`diff: ${breaking.length} breaking, ${changes.length - breaking.length} non-breaking change(s)`);
      }
      return breaking.length ? 1 : 0;
    })()));
  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  return new Promise<number>((resolve) => {
    const program = buildProgram(resolve);
    program.exitOverride((err) => {
      // commander has printed its one-line error (or the help/version text) already.
      resolve(err.exitCode);
      throw err;
    });
    program.parseAsync(argv, { from: 'user' }).catch((e: unknown) => {
      if ((e as { code?: string }).code?.startsWith('commander.')) return;
      if (e instanceof UsageError || e instanceof SpecError) console.error(`error: ${e instanceof SpecError ? `invalid spec: ${e.message}` : e.message}`);
      else if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e instanceof Error && /^(--|[^\s]+\.json:|unknown emitter)/.test(e.message))) console.error(`error: ${(e as Error).message}`);
      else if (e instanceof Error && !process.env.LAVENDLY_DEBUG) console.error(`error: ${e.message} (LAVENDLY_DEBUG=1 shows the stack)`);
      else console.error(e);
      resolve(1);
    });
  });
}
