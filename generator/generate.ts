/**
 * `generate()`: builds the IR once, runs the emitters, writes `*.gen.ts` into the out dir and
 * publishable packages' generated files under the packages dir (wiping stale ones), or with
 * `check` writes nothing and reports every file that differs. The CLI (program.ts) wraps it.
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildIr } from './ir.js';
import type { IrDocument } from './ir-types.js';
import {
  DEFAULT_OUT, DEFAULT_PACKAGES, DEFAULT_SPEC, GENERATED_MARKER, createEmitContext, regenerateCommandFor, type EmittedFile,
} from './shared/emitter.js';
import { loadEmitters } from './emitters/registry.js';

export interface GenerateOptions {
  spec?: string;
  out?: string;
  /** Where publishable packages go: default `packages` (or `<out>/packages` with a custom out). */
  packages?: string;
  only?: string[];
  check?: boolean;
  /** What banners tell a reader to run (default `npm run generate` with the flags that differ). */
  regenerateCommand?: string;
  /** Called with progress lines (the CLI prints them). */
  log?: (line: string) => void;
}

export interface GenerateResult {
  files: EmittedFile[];
  /** Paths of files whose content differs from disk (or that are stale); with check, nothing is written. */
  drifted: string[];
  timings: { name: string; ms: number }[];
  ir: IrDocument;
  /** What each produced file (by its key in `drifted`) held on disk before, or null. */
  previous: Map<string, string | null>;
}

/** What the generator owns in its output directory: code, and the documentation generated beside it. */
const GENERATED_FILE = /\.gen\.(ts|md)$/;

/** Relative, forward-slashed: banners must not depend on the machine. */
export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), path.resolve(p));
  return (rel && !rel.startsWith('..') ? rel : path.resolve(p)).split(path.sep).join('/');
}

export async function generate(opts: GenerateOptions = {}): Promise<GenerateResult> {
  const log = opts.log ?? (() => {});
  const spec = displayPath(opts.spec ?? DEFAULT_SPEC);
  const out = displayPath(opts.out ?? DEFAULT_OUT);
  const timings: { name: string; ms: number }[] = [];

  let t = performance.now();
  const ir = await buildIr(spec);
  timings.push({ name: 'ir', ms: performance.now() - t });
  const ctx = createEmitContext(ir, opts.regenerateCommand ?? regenerateCommandFor(spec, out));
  const files: EmittedFile[] = [];
  for (const emitter of await loadEmitters(opts.only)) {
    t = performance.now();
    const result = await emitter.emit(ir, ctx);
    timings.push({ name: emitter.name, ms: performance.now() - t });
    files.push(...(typeof result === 'string' ? [{ file: emitter.file, text: result }] : result));
  }
  for (const f of files) {
    if (f.root === 'packages' ? !f.text.includes(GENERATED_MARKER) : !GENERATED_FILE.test(f.file)) {
      throw new Error(`emitter output "${f.file}" must ${f.root ? `carry "${GENERATED_MARKER}"` : 'end in .gen.ts (or .gen.md for documentation)'}`);
    }
  }
  const packages = displayPath(opts.packages ?? (out === DEFAULT_OUT ? DEFAULT_PACKAGES : path.posix.join(out, DEFAULT_PACKAGES)));
  /** How `drifted` names a file: bare in the out dir, the path of a package file. */
  const key = (f: EmittedFile) => (f.root === 'packages' ? path.posix.join(packages, f.file) : f.file);
  const fsPath = (k: string) => (k.includes('/') ? k : path.posix.join(out, k));

  const produced = new Set(files.map(key));
  // With --only, other artifacts are left alone; a full run owns every *.gen.ts / *.gen.md in the out dir and
  // every file carrying the generated marker in the package folders it writes to.
  const stale = opts.only?.length ? [] : await staleFiles(out, packages, files, produced);
  const drifted: string[] = [];
  const previous = new Map<string, string | null>();
  for (const f of files) {
    const current = await readFile(fsPath(key(f)), 'utf8').catch(() => null);
    previous.set(key(f), current);
    if (current !== f.text) drifted.push(key(f));
  }
  drifted.push(...stale);

  if (!opts.check) {
    for (const f of files) {
      const to = fsPath(key(f));
      if (drifted.includes(key(f))) {
        await mkdir(path.dirname(to), { recursive: true });
        await writeFile(to, f.text);
      }
      log(`${drifted.includes(key(f)) ? 'wrote    ' : 'unchanged'} ${to} (${(f.text.length / 1024).toFixed(1)} KiB)`);
    }
    await mkdir(out, { recursive: true });
    for (const f of stale) {
      await rm(fsPath(f));
      log(`removed   ${fsPath(f)} (stale)`);
    }
  }
  return { files, drifted, timings, ir, previous };
}

/** What building a package leaves in its folder (copies of generated files, not stale ones). */
const BUILD_OUTPUT = /(^|[\\/])(build|dist|node_modules|__pycache__|[^\\/]+\.egg-info)([\\/]|$)/;

async function staleFiles(out: string, packages: string, files: EmittedFile[], produced: Set<string>): Promise<string[]> {
  const existing = (await readdir(out).catch(() => [] as string[])).filter((f) => GENERATED_FILE.test(f));
  const packageDirs = new Set(files.filter((f) => f.root === 'packages').map((f) => path.posix.join(packages, f.file.split('/')[0]!)));
  for (const dir of packageDirs) {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isFile() || BUILD_OUTPUT.test(path.relative(dir, e.parentPath))) continue;
      const file = displayPath(path.join(e.parentPath, e.name));
      const head = (await readFile(file, 'utf8').catch(() => '')).slice(0, 1000);
      if (head.includes(GENERATED_MARKER)) existing.push(file);
    }
  }
  return existing.filter((f) => !produced.has(f)).sort();
}
