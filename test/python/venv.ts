/**
 * The Python SDK as a user gets it: packages/python copied out of the checkout, built into a
 * wheel with pip (offline: setuptools and wheel come from Debian, `--no-build-isolation`), and
 * installed into a fresh venv in a temp dir outside the repository. The venv sees the system
 * site-packages for httpx, pytest and mypy (Debian's python3-httpx, -pytest, -mypy); nothing of
 * the checkout is on its path, so tests import exactly what the wheel installed.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Debian's interpreter (the one python3-httpx & co. are installed for), not a pyenv shim on PATH. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const PACKAGE_DIR = path.resolve('packages/python');

interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

export interface PythonSdk {
  /** The temp dir holding the copied sources, the wheel and the venv. */
  dir: string;
  wheel: string;
  /** The venv's python. */
  python: string;
  run(args: string[], opts?: RunOptions): SpawnSyncReturns<string>;
  /** Like run, without blocking the event loop (for a server living in this process). */
  runAsync(args: string[], opts?: RunOptions): Promise<{ status: number | null; stdout: string; stderr: string }>;
  remove(): void;
}

function must(what: string, r: SpawnSyncReturns<string>): SpawnSyncReturns<string> {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

export function buildPythonSdk(): PythonSdk {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lavendly-python-'));
  const env = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INDEX: '1', PYTHONDONTWRITEBYTECODE: '1' };
  const sh = (cmd: string, args: string[], opts: RunOptions = {}) =>
    spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd ?? dir, env: { ...env, ...opts.env }, timeout: opts.timeoutMs ?? 120_000 });
  const shAsync = (cmd: string, args: string[], opts: RunOptions = {}) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: opts.cwd ?? dir, env: { ...env, ...opts.env }, timeout: opts.timeoutMs ?? 120_000 });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c));
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      child.once('error', reject);
      child.once('close', (status) => resolve({ status, stdout, stderr }));
    });
  try {
    // setuptools builds in the source tree (build/, *.egg-info): build a copy, not the checkout.
    cpSync(PACKAGE_DIR, path.join(dir, 'src'), { recursive: true });
    must('venv', sh(SYSTEM_PYTHON, ['-m', 'venv', '--system-site-packages', path.join(dir, 'venv')]));
    const python = path.join(dir, 'venv/bin/python');
    must('pip wheel', sh(python, ['-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--no-index', '-w', path.join(dir, 'dist'), path.join(dir, 'src')]));
    const wheel = path.join(dir, 'dist', readdirSync(path.join(dir, 'dist')).find((f) => f.endsWith('.whl'))!);
    must('pip install', sh(python, ['-m', 'pip', 'install', '--no-deps', '--no-index', wheel]));
    return {
      dir,
      wheel,
      python,
      run: (args, opts) => sh(python, args, opts),
      runAsync: (args, opts) => shAsync(python, args, opts),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
