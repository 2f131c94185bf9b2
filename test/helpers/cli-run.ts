import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliResult {
  /** The exit code, or the signal when the process had to be killed (it hung). */
  code: number | string;
  stdout: string;
  stderr: string;
  /** Every non-empty line of stdout and stderr. */
  lines: string[];
}

/**
 * Runs the real CLI (`node --import tsx src/cli/main.ts ...`, the program entry itself) to its
 * end; after `timeoutMs` it is killed and `code` is 'SIGKILL', so a hang shows as a failure.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], {
    cwd: root, env: { ...env, LAVENDLY_API_KEY: undefined }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += String(d); });
  child.stderr.on('data', (d) => { stderr += String(d); });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = `${stdout}\n${stderr}`.split('\n').filter((l) => l.trim());
      resolve({ code: code ?? signal ?? -1, stdout, stderr, lines });
    });
  });
}
