// Logging to a full disk must not take the process down or hang it: pino's stdout stream
// re-emitted ENOSPC as an unhandled error and its exit flush then retried the write forever (the
// server stopped answering, port held). Stdout here is a file on a real full tmpfs. Needs root.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canMountTmpfs, mountTmpfs, TMPFS_SKIP_REASON, type Tmpfs } from '../helpers/tmpfs.js';

const child = path.join(import.meta.dirname, 'log-disk-full-child.ts');

describe.skipIf(!canMountTmpfs)(`logging to a full disk (${canMountTmpfs ? 'tmpfs' : TMPFS_SKIP_REASON})`, () => {
  let disk: Tmpfs | undefined;
  afterAll(() => disk?.unmount());

  it('drops what it cannot write, exits when asked, and writes again once space is freed', () => {
    disk = mountTmpfs(1);
    const logFile = path.join(disk.dir, 'serve.log');
    const out = fs.openSync(logFile, 'w');
    disk.fill(0);
    // The timeout only bounds a hang; the child needs well under a second.
    const run = spawnSync(process.execPath, ['--import', 'tsx', child], {
      stdio: ['ignore', out, 'pipe'], env: { ...process.env, FILLER: path.join(disk.dir, '.filler') }, timeout: 15_000,
    });
    fs.closeSync(out);
    expect(run.signal, 'the child hung and was killed').toBeNull();
    expect(run.stderr.toString()).toBe('');
    expect(run.status).toBe(0);
    const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.some((l) => l.msg === 'after free')).toBe(true);
  });
});
