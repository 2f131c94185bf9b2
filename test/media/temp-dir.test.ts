/**
 * TMPDIR removed while the server runs (a cleaner, an operator's `rm -rf`): every scene and render
 * failed with "ENOENT: no such file or directory, mkdtemp '.../lavendly-media-XXXXXX'" until the
 * server was restarted. It is made again, this user's own, whatever the umask.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalProviders } from '../../src/media/index.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-gone-tmp-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('a TMPDIR that disappears while the server runs', () => {
  it('is made again (0700) by the next media job, which succeeds', { timeout: 60_000 }, async () => {
    const saved = process.env.TMPDIR;
    const tmp = path.join(scratch, 'private tmp', 'é');
    const oldMask = process.umask(0o000);
    try {
      process.env.TMPDIR = tmp;
      const { textToImage } = createLocalProviders();
      const out = path.join(scratch, 'still.png');
      // Gone (with its parent), as `rm -rf` leaves it.
      fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
      const still = await textToImage.generateImage({ prompt: 'a fox', width: 64, height: 64, outPath: out });
      expect(fs.statSync(still.path).size).toBeGreaterThan(0);
      expect((fs.statSync(tmp).mode & 0o7777).toString(8)).toBe('700');
      expect(fs.readdirSync(tmp)).toEqual([]); // the job's own folder went with it
    } finally {
      process.umask(oldMask);
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });
});
