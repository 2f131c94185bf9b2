import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/cli/commands/worker.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/http/logging.js';
import { FileStorage } from '../../src/storage/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live (not zombie) processes whose command line mentions `marker`, other than node itself. */
function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const state = fs.readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      if (state !== 'Z' && cmd.some((a) => a.includes(marker)) && !cmd[0]!.endsWith('node')) pids.push(Number(entry));
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

function partials(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((n) => path.basename(n).includes('.partial-'));
}

describe.runIf(process.platform === 'linux')('a render process killed with SIGKILL', () => {
  let dataDir: string;
  afterEach(() => {
    for (const pid of processesMentioning(dataDir)) process.kill(pid, 'SIGKILL'); // only when the test failed
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('takes its ffmpeg with it, and a worker started later removes the unfinished file', async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-orphan-'));
    const out = path.join(dataDir, 'files', 'acc_1', 'wf_1', 'render.mp4');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/render-child.ts'], {
      cwd: path.resolve(import.meta.dirname, '../..'), env: { ...process.env, OUT: out }, stdio: 'ignore',
    });
    const exited = new Promise((r) => child.once('exit', r));
    let ffmpeg: number[] = [];
    for (let i = 0; i < 200 && !(ffmpeg.length && partials(dataDir).length); i++) {
      await sleep(50);
      ffmpeg = processesMentioning(dataDir);
    }
    expect(ffmpeg).toHaveLength(1);
    expect(partials(dataDir)).toHaveLength(1);

    child.kill('SIGKILL');
    await exited;
    for (let i = 0; i < 40 && processesMentioning(dataDir).length; i++) await sleep(50);
    expect(processesMentioning(dataDir)).toEqual([]);

    const storage = new FileStorage({ dataDir, publicBaseUrl: 'http://localhost', secret: Buffer.alloc(32) });
    expect(await storage.sweepPartials()).toBe(0); // fresh: could still be a live write

    // Twenty minutes later (by its mtime) a worker starts on this data dir. It removes the file
    // once it has seen it unchanged for the partial-file age on the monotonic clock, over two of
    // its sweeps at least (a clock step makes a live write look twenty minutes old too): both
    // shortened here through the worker's settings, from 15 and 10 minutes.
    const then = new Date(Date.now() - 20 * 60_000);
    for (const p of partials(dataDir)) fs.utimesSync(path.join(dataDir, p), then, then);
    const worker = await startJobWorker({
      config: loadConfig({ LAVENDLY_DATA_DIR: dataDir, LAVENDLY_WORKER_FILE_SWEEP_MS: '20', LAVENDLY_WORKER_PARTIAL_AGE_MS: '100' }),
      logger: createLogger({ level: 'silent' }),
    });
    try {
      for (let i = 0; i < 200 && partials(dataDir).length; i++) await sleep(50);
    } finally {
      await worker.stop();
    }
    expect(partials(dataDir)).toEqual([]);
    expect(fs.existsSync(out)).toBe(false);
  });
});
