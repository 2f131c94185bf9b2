/** Shared by the generator tests: generate a fixture into a scratch dir, type-check generated code. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate, type GenerateOptions, type GenerateResult } from '../../generator/cli.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const SPECS = 'test/fixtures/specs';

/**
 * A fresh directory under the repo's ignored tmp/ (inside the repo so that generated files resolve
 * zod, koa and @koa/router from its node_modules).
 */
export function scratchDir(name: string): string {
  const dir = path.join(ROOT, 'tmp', 'test-generator', `${name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function generateInto(spec: string, out: string, opts: Omit<GenerateOptions, 'spec' | 'out'> = {}): Promise<GenerateResult> {
  // Banners name cwd-relative paths; the tests run from the repo root.
  if (process.cwd() !== ROOT) throw new Error(`run the tests from ${ROOT}`);
  return generate({ spec, out: path.relative(ROOT, out), ...opts });
}

/**
 * The strictest flags tsc has beyond `strict` (those of test/packages/sdk.test.ts, plus
 * noUnusedParameters and NodeNext resolution): what a consumer project may compile generated code with.
 */
export const STRICTEST = {
  module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'DOM'],
  exactOptionalPropertyTypes: true, noPropertyAccessFromIndexSignature: true, noImplicitOverride: true,
  noUnusedLocals: true, noUnusedParameters: true, noImplicitReturns: true, noFallthroughCasesInSwitch: true, verbatimModuleSyntax: true,
};

/** `tsc --noEmit` over `dirs/*.ts` with the repo's strict options (plus `extra`); returns the diagnostics text. */
export function typecheck(dirs: string[], name: string, extra: Record<string, unknown> = {}): { ok: boolean; output: string } {
  const configDir = scratchDir(`tsc-${name}`);
  const config = {
    compilerOptions: {
      target: 'ES2022',
      module: 'ESNext',
      moduleResolution: 'bundler',
      lib: ['ES2023'],
      types: ['node'],
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      noEmit: true,
      isolatedModules: true,
      ...extra,
    },
    include: dirs.map((d) => path.join(d, '*.ts')),
  };
  writeFileSync(path.join(configDir, 'tsconfig.json'), JSON.stringify(config, null, 2));
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', configDir], { encoding: 'utf8', cwd: ROOT });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/**
 * A Python script run against a server of this process with the generated package of `src` on
 * PYTHONPATH. Spawned, not run synchronously: the server it talks to lives in this event loop.
 */
export async function runPython(src: string, script: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('/usr/bin/python3', ['-c', script, ...args], { env: { ...process.env, PYTHONPATH: src } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { status, stdout, stderr };
}
