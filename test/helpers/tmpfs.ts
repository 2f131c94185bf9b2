// A small real tmpfs for disk-full tests: mounted on a fresh directory, filled with one file to
// leave a chosen number of bytes, freed by deleting that file. Mounting needs root; tests skip
// with `canMountTmpfs` false (and say why) elsewhere.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const canMountTmpfs = process.getuid?.() === 0 && fs.existsSync('/bin/mount');
export const TMPFS_SKIP_REASON = 'needs root to mount a small tmpfs (run as root to fill a real disk)';

export interface Tmpfs {
  dir: string;
  /** Fills the disk, leaving about `leaveBytes` free (0: full). */
  fill(leaveBytes?: number): void;
  /** Deletes the filler file. */
  free(): void;
  unmount(): void;
}

export function mountTmpfs(sizeMb: number, prefix = 'lvd-tmpfs-'): Tmpfs {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]);
  const filler = path.join(dir, '.filler');
  return {
    dir,
    fill(leaveBytes = 0) {
      fs.rmSync(filler, { force: true });
      const { bavail, bsize } = fs.statfsSync(dir);
      const size = Math.max(0, bavail * bsize - leaveBytes);
      const fd = fs.openSync(filler, 'w');
      try {
        // Real blocks, written: tmpfs counts them (a sparse file would not fill it).
        const chunk = Buffer.alloc(1 << 20);
        for (let left = size; left > 0;) left -= fs.writeSync(fd, chunk, 0, Math.min(chunk.length, left));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        fs.closeSync(fd);
      }
    },
    free() {
      fs.rmSync(filler, { force: true });
    },
    unmount() {
      execFileSync('umount', ['-l', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
