// FailureThrottle (sign-in lockouts, MCP client registrations) counted its windows on Date.now:
// the machine's clock stepping forward past a window lifted a lockout at once, and guessing went
// on at full speed. It now counts on the monotonic clock, which no step moves. A child process
// with the step preload shows it (the throttle's clock is the real one it would use there).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

describe('a sign-in lockout across a clock step forward', () => {
  let child: ReturnType<typeof spawn> | undefined;
  afterEach(() => { if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL'); });

  it('stays in force for the rest of its window', async () => {
    child = spawn(process.execPath, ['--import', path.join(here, '../helpers/clock-step.mjs'), '--import', 'tsx', path.join(here, 'throttle-step-child.ts')], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CLOCK_STEP_MS: String(2 * 3600_000) },
    });
    let out = '';
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += String(d); });
    const lines = (n: number) => new Promise<string[]>((resolve, reject) => {
      const check = () => {
        const got = out.split('\n').filter((l) => l.startsWith('blocked '));
        if (got.length >= n) resolve(got);
      };
      child!.stdout!.on('data', (d) => { out += String(d); check(); });
      child!.once('exit', (code) => reject(new Error(`child exited (${code}): ${stderr}`)));
      check();
    });
    const [before] = await lines(1);
    expect(before).toMatch(/^blocked (59|60)$/);
    child.kill('SIGUSR2');
    const [, after] = await lines(2);
    expect(out).toContain('clock stepped');
    expect(Number(after!.split(' ')[1])).toBeGreaterThanOrEqual(55);
  });
});
