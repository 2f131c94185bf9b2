/**
 * @lavendly/framework as a user gets it: built, `npm pack`ed once per set of inputs (under a lock,
 * so test files share one build), installed from the tarball in directories outside the repository.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/packages.js';

export const run = promisify(execFile);
export { ROOT };

const INPUTS = ['generator', 'packages/framework/src', 'packages/framework/package.json', 'scripts/build-packages.ts'];

async function filesUnder(p: string): Promise<string[]> {
  if (!(await stat(p)).isDirectory()) return [p];
  const out: string[] = [];
  for (const e of (await readdir(p)).sort()) out.push(...(await filesUnder(path.join(p, e))));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Absolute path of the framework's tarball, built at most once per input hash. */
export async function packedFramework(): Promise<string> {
  const hash = createHash('sha256');
  for (const input of INPUTS) for (const f of await filesUnder(path.join(ROOT, input))) hash.update(path.relative(ROOT, f)).update(await readFile(f));
  const dir = path.join(ROOT, 'tmp/framework-pack', hash.digest('hex').slice(0, 16));
  const done = path.join(dir, 'tarball.txt');
  const lock = `${dir}.lock`;
  await mkdir(path.dirname(dir), { recursive: true });
  for (const started = Date.now(); ;) {
    const ready = await readFile(done, 'utf8').catch(() => null);
    if (ready) return ready;
    try {
      await mkdir(lock);
      break;
    } catch {
      const age = Date.now() - (await stat(lock).then((s) => s.mtimeMs, () => Date.now()));
      if (age > 300_000) await rm(lock, { recursive: true, force: true });
      if (Date.now() - started > 400_000) throw new Error(`timed out waiting for ${lock}`);
      await sleep(500);
    }
  }
  try {
    await run('npx', ['tsx', 'scripts/build-packages.ts', 'framework'], { cwd: ROOT, timeout: 300_000 });
    await mkdir(dir, { recursive: true });
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir, './packages/framework'], { cwd: ROOT, timeout: 60_000 });
    const tarball = path.join(dir, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    await writeFile(done, tarball);
    return tarball;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `lavendly-${prefix}-`));
}

export async function npmInstall(dir: string, specs: string[] = []): Promise<void> {
  await run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--prefer-offline', ...specs], {
    cwd: dir, timeout: 300_000, env: { ...process.env, npm_config_loglevel: 'error' },
  });
}

/** Runs a command; never throws: exit code and output. */
export async function attempt(cmd: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(cmd, args, { cwd, timeout: 240_000, maxBuffer: 1 << 24 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** Starts `node <args>` in `cwd` with PORT=0 and resolves once it prints `listening on <url>`. */
export async function startServer(cwd: string, args: string[]): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening:\n${output}`)));
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return { url, child, stop };
}
