import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it, vi } from 'vitest';

const child = fileURLToPath(new URL('./statement-journal-child.ts', import.meta.url));

// A group commit keeps each unit's changed pages in a statement journal (one savepoint per unit).
// By default SQLite moves that journal into a new file in its temporary directory once it passes
// 64 KiB, which a group of a few creates does: a file created, written and unlinked on every
// group, on whatever disk holds /var/tmp. The connections keep it in memory (temp_store). The
// file is unlinked at once, so it is caught by watching the directory SQLite is told to use.
it('a group of 16 creates on SQLite writes no temporary file', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-journal-'));
  const sqliteTmp = path.join(tmp, 'sqlite-tmp');
  const dataDir = path.join(tmp, 'data');
  fs.mkdirSync(sqliteTmp);
  fs.mkdirSync(dataDir);
  const seen: string[] = [];
  const watcher = fs.watch(sqliteTmp, (event, name) => seen.push(`${event} ${name}`));
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', child, dataDir], {
        env: { ...process.env, SQLITE_TMPDIR: sqliteTmp }, stdio: ['ignore', 'pipe', 'inherit'],
      });
      let stdout = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.on('error', reject);
      p.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`child exited ${code}`))));
    });
    expect(JSON.parse(out)).toEqual({ workflows: 116 });
    // inotify reports a directory's events in order: once a file made now is seen, every event of
    // the child's run has been delivered.
    const sentinel = 'sentinel';
    fs.writeFileSync(path.join(sqliteTmp, sentinel), '');
    await vi.waitUntil(() => seen.some((e) => e.endsWith(sentinel)), { timeout: 5_000, interval: 10 });
    expect(seen.filter((e) => !e.endsWith(sentinel))).toEqual([]);
  } finally {
    watcher.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, 30_000);
