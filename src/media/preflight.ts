/**
 * What media work needs from the machine, checked once at start: ffmpeg and ffprobe runnable by
 * this user, and a temporary directory it can write. Found out later, each failed every
 * generation after three attempts, with the server's paths in the customer's error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ffmpegPath, ffprobePath } from './binaries.js';
import { MediaError } from './errors.js';

/** Why media work cannot run in this process, in words for its operator; null when it can. */
export function mediaToolsProblem(): string | null {
  for (const [tool, variable, locate] of [['ffmpeg', 'FFMPEG_PATH', ffmpegPath], ['ffprobe', 'FFPROBE_PATH', ffprobePath]] as const) {
    let bin: string;
    try {
      bin = locate();
    } catch (err) {
      if (err instanceof MediaError) return err.message;
      throw err;
    }
    try {
      fs.accessSync(bin, fs.constants.X_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const info = fs.statSync(bin, { throwIfNoEntry: false });
      // @ffprobe-installer's install script makes its binary executable for its owner only
      // (chmod u+x): installed as root, it cannot be run by the user the server runs as.
      const why = info?.isFile()
        ? `it is not executable by this user (uid ${process.getuid?.() ?? '?'}; mode ${(info.mode & 0o777).toString(8)}, owner uid ${info.uid}); make it executable (chmod a+x) or set ${variable}`
        : `${code}; set ${variable} to the ${tool} to use`;
      return `${tool} ${bin} cannot be run: ${why}`;
    }
  }
  const tmp = os.tmpdir();
  try {
    fs.rmdirSync(fs.mkdtempSync(path.join(tmp, 'lavendly-check-')));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A full disk passes once space is freed (requests answer 503 meanwhile); these do not.
    if (['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'EROFS'].includes(code ?? '')) {
      return `the temporary directory ${tmp} cannot be used (${code}): ffmpeg's working files go there; create it or set TMPDIR to a directory this user can write`;
    }
  }
  return null;
}
