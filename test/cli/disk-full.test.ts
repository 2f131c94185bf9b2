// Starting on a full disk: one `lavendly: error:` line that says the disk is full and what to do
// (it said "database or disk is full" or "ENOSPC: no space left on device, write"), exit code 1,
// and nothing half-written that would stop the next start once space is freed: the signing
// secret was created empty, and every later start failed with "signing-secret is empty". The data
// dir is a small real tmpfs. Needs root.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSigningSecret, SECRET_FILE } from '../../src/storage/secret.js';
import { runCli } from '../helpers/cli-run.js';
import { canMountTmpfs, mountTmpfs, TMPFS_SKIP_REASON, type Tmpfs } from '../helpers/tmpfs.js';

describe.skipIf(!canMountTmpfs)(`starting on a full disk (${canMountTmpfs ? 'tmpfs' : TMPFS_SKIP_REASON})`, () => {
  const disks: Tmpfs[] = [];
  afterAll(() => { for (const d of disks) d.unmount(); });

  it('serve exits 1 with one line naming the full disk, and the data dir starts once space is freed', async () => {
    const disk = mountTmpfs(4);
    disks.push(disk);
    const dataDir = path.join(disk.dir, 'data');
    const env = { ...process.env, LAVENDLY_DATA_DIR: dataDir, DATABASE_URL: '', LAVENDLY_LOG_FORMAT: 'json' };
    disk.fill(0);
    const full = await runCli(['serve', '--port', '0', '--host', '127.0.0.1'], env);
    expect(full.code).toBe(1);
    expect(full.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^lavendly: error: out of disk space \(.+\); free space on the disk holding LAVENDLY_DATA_DIR/)]);
    disk.free();
    const listed = await runCli(['accounts', 'list', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
  });

  it('never leaves an empty signing secret behind', async () => {
    const disk = mountTmpfs(1);
    disks.push(disk);
    disk.fill(0);
    await expect(loadSigningSecret({ dataDir: disk.dir, signingSecret: null })).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(fs.readdirSync(disk.dir).filter((name) => name.includes(SECRET_FILE))).toEqual([]);
    disk.free();
    const secret = await loadSigningSecret({ dataDir: disk.dir, signingSecret: null });
    expect(secret.length).toBeGreaterThan(20);
    expect((await loadSigningSecret({ dataDir: disk.dir, signingSecret: null })).equals(secret)).toBe(true);
    expect(fs.readdirSync(disk.dir).filter((name) => name.includes(SECRET_FILE))).toEqual([SECRET_FILE]);
  });
});
