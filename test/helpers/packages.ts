/**
 * The publishable packages as a user gets them: built from the generated sources, `npm pack`ed,
 * and installed from the tarball into a fresh directory outside the repository (dependencies from
 * the registry). Several test files need the tarballs; they are built once per set of inputs (a
 * hash of everything that goes into them), under a lock, so parallel test files share one build.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PACKAGES = ['sdk', 'mcp'] as const;
export type PackageName = (typeof PACKAGES)[number];

/** Files and folders whose content decides what the packages contain. */
const INPUTS = ['generated', 'packages', 'scripts/build-packages.ts', 'package-lock.json'];

async function filesUnder(p: string): Promise<string[]> {
  const info = await stat(p);
  if (!info.isDirectory()) return [p];
  const out: string[] = [];
  for (const entry of (await readdir(p)).sort()) {
    if (entry === 'dist' || entry === 'node_modules' || entry === 'api.md') continue;
    out.push(...(await filesUnder(path.join(p, entry))));
  }
  return out;
}

async function inputHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    for (const file of await filesUnder(path.join(ROOT, input))) {
      hash.update(path.relative(ROOT, file)).update('\0').update(await readFile(file)).update('\0');
    }
  }
  return hash.digest('hex').slice(0, 16);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Tarballs of every package, built and packed at most once per input hash (under tmp/packages/).
 * Returns package name -> absolute path of its .tgz.
 */
export async function packedPackages(): Promise<Record<PackageName, string>> {
  const dir = path.join(ROOT, 'tmp/packages', await inputHash());
  const done = path.join(dir, 'tarballs.json');
  const lock = `${dir}.lock`;
  await mkdir(path.dirname(dir), { recursive: true });
  for (const started = Date.now(); ; ) {
    const ready = await readFile(done, 'utf8').catch(() => null);
    if (ready) return JSON.parse(ready) as Record<PackageName, string>;
    try {
      await mkdir(lock);
      break; // ours to build
    } catch {
      // Another test file is building; a lock older than 5 minutes belongs to a dead run.
      const age = Date.now() - (await stat(lock).then((s) => s.mtimeMs, () => Date.now()));
      if (age > 300_000) await rm(lock, { recursive: true, force: true });
      if (Date.now() - started > 300_000) throw new Error(`timed out waiting for ${lock}`);
      await sleep(500);
    }
  }
  try {
    await run('npx', ['tsx', 'scripts/build-packages.ts', ...PACKAGES], { cwd: ROOT, timeout: 240_000 });
    const staging = `${dir}.staging`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    const tarballs = {} as Record<PackageName, string>;
    for (const name of PACKAGES) {
      const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', staging, path.join(ROOT, 'packages', name)], { cwd: ROOT, timeout: 60_000 });
      const [info] = JSON.parse(stdout) as { filename: string }[];
      tarballs[name] = path.join(dir, info!.filename);
    }
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    await writeFile(done, JSON.stringify(tarballs));
    await pruneOldBuilds(path.dirname(dir), path.basename(dir));
    return tarballs;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** Builds of other inputs, untouched for an hour, are not coming back: each holds a few tarballs. */
async function pruneOldBuilds(parent: string, keep: string): Promise<void> {
  for (const entry of await readdir(parent)) {
    if (entry.startsWith(keep)) continue;
    const info = await stat(path.join(parent, entry)).catch(() => null);
    if (info && Date.now() - info.mtimeMs > 3_600_000) await rm(path.join(parent, entry), { recursive: true, force: true });
  }
}

export interface Installed {
  /** The consumer directory (outside the repository). */
  dir: string;
  remove(): Promise<void>;
}

/**
 * A fresh consumer package in the system temp directory with `specs` installed by npm
 * (tarball paths and registry names alike), as a user would.
 */
export async function installConsumer(specs: string[], packageJson: Record<string, unknown> = {}, timeoutMs = 180_000): Promise<Installed> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lavendly-consumer-'));
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, ...packageJson }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--prefer-offline', ...specs], {
    cwd: dir, timeout: timeoutMs, env: { ...process.env, npm_config_loglevel: 'error' },
  });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs a script with plain `node` in `dir`; resolves to its last stdout line parsed as JSON. */
export async function runNode(dir: string, file: string, args: string[] = []): Promise<any> {
  const { stdout } = await run(process.execPath, [file, ...args], { cwd: dir, timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

/** The repository's TypeScript compiler on a consumer project: '' when it compiles cleanly. */
export async function tscOutput(dir: string, project: string): Promise<string> {
  return run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: dir, timeout: 90_000 }).then(
    () => '',
    (e: { stdout?: string; stderr?: string; message: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message,
  );
}
