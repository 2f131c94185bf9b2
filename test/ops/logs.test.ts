// Logs (issue 13, finding 5): a terminal gets pretty lines, anything else JSON lines, and the two
// never mix on stdout; the development key goes to stderr, never into a log line.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'src/cli/main.ts');
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-logs-'));
  dirs.push(d);
  return d;
}

/** Runs `command` until `done` matches its output, then SIGTERM; resolves with stdout and stderr. */
function runUntil(file: string, args: string[], env: NodeJS.ProcessEnv, done: RegExp): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(file, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no ${done} in:\n${stdout}\n${stderr}`)); }, 45_000);
    const check = () => { if (done.test(stdout + stderr)) child.kill('SIGTERM'); };
    child.stdout.on('data', (d) => { stdout += String(d); check(); });
    child.stderr.on('data', (d) => { stderr += String(d); check(); });
    child.on('close', () => { clearTimeout(timer); resolve({ stdout, stderr }); });
  });
}

const env = (dir: string) => ({ ...process.env, LAVENDLY_DATA_DIR: dir, DATABASE_URL: '', HOST: '127.0.0.1', LAVENDLY_SERVE_WORKER: '0', LOG_LEVEL: 'info', LAVENDLY_LOG_FORMAT: '' });

describe('serve logs', () => {
  it('are JSON lines on stdout when it is not a terminal; the key is on stderr only', async () => {
    const { stdout, stderr } = await runUntil(process.execPath, ['--import', 'tsx', main, 'serve', '--port', '0'], env(dataDir()), /server stopped|listening on/);
    const lines = stdout.split('\n').filter((l) => l.trim());
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    const key = stderr.match(/export LAVENDLY_API_KEY=(\S+)/)?.[1];
    expect(key).toMatch(/^lvd_/);
    expect(stdout).not.toContain(key);
    expect(lines.map((l) => JSON.parse(l).msg)).toContainEqual(expect.stringMatching(/^created development account acc_\S+ with 1000 credits/));
  });

  it.skipIf(!fs.existsSync('/usr/bin/script'))('are pretty lines in a terminal, with no JSON line among them', async () => {
    // script(1) gives the server a pseudo-terminal as stdout.
    const cmd = `exec "${process.execPath}" --import tsx "${main}" serve --port 0`;
    const { stdout } = await runUntil('/usr/bin/script', ['-qec', cmd, '/dev/null'], env(dataDir()), /listening on/);
    const lines = stdout.split(/\r?\n/).filter((l) => l.trim());
    expect(lines.some((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] .*INFO.*Lavendly API listening on/.test(l))).toBe(true);
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
  });
});
