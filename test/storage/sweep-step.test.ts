// The machine's clock stepped forward over the partial-file sweep's 15 minutes while a render or
// transfer was writing its `.partial-` file: the file's mtime, taken with the old clock, looked
// abandoned, and the sweep deleted it under its live writer (the staging sweep likewise, past its
// 6 h). A sweep now deletes only a file it has also seen unchanged (size and mtime) for its limit
// on the monotonic clock, which no step moves.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStorage } from '../../src/storage/index.js';
import { tempDir } from '../net/servers.js';
import { restoreWallClock, stepWallClock } from '../helpers/wall-clock.js';

describe('a clock step forward during a write', () => {
  afterEach(() => restoreWallClock());

  it('leaves the live partial and staging files alone', async () => {
    const dataDir = tempDir('lavendly-sweep-step-');
    const storage = await FileStorage.open({ dataDir, publicBaseUrl: 'http://x', signingSecret: null });
    const partial = path.join(dataDir, 'files', 'acc_1', '.render.mp4.partial-0a1b2c');
    fs.mkdirSync(path.dirname(partial), { recursive: true });
    fs.writeFileSync(partial, 'frames so far');
    const staged = storage.stagingPath();
    fs.mkdirSync(path.dirname(staged), { recursive: true });
    fs.writeFileSync(staged, 'an upload so far');

    stepWallClock(7 * 3600_000);
    expect(await storage.sweepPartials()).toBe(0);
    expect(await storage.sweepStaging()).toBe(0);
    // The writers go on (their files change), and a sweep that looks again still keeps them.
    fs.appendFileSync(partial, ' and more');
    fs.appendFileSync(staged, ' and more');
    expect(await storage.sweepPartials(15 * 60_000, Date.now(), 0)).toBe(0);
    expect(await storage.sweepStaging(6 * 3600_000, Date.now(), 0)).toBe(0);
    expect(fs.existsSync(partial) && fs.existsSync(staged)).toBe(true);
  });
});
