/**
 * Directories of this machine that messages for customers (a failed scene's or render's error)
 * must not show. Those messages carry ffmpeg's and ffprobe's own words, which name the files they
 * read: "cannot probe /srv/lavendly/data/files/acc_.../clip.mp4" told every customer where the
 * data lives, the temporary directory and where the server was installed. The log keeps them.
 */
import os from 'node:os';
import path from 'node:path';

const hidden = new Set<string>();

/** Adds a directory (the data dir, the media tools' folder) to those left out of customers' messages. */
export function hideFromCustomers(dir: string): void {
  hidden.add(path.resolve(dir));
}

/** `text` with every path inside a hidden directory (or the temporary directory) starting `…/`. */
export function withoutLocalPaths(text: string): string {
  // Longest first, so a directory inside another is replaced whole.
  const dirs = [...hidden, os.tmpdir()].filter((d) => d !== path.sep).sort((a, b) => b.length - a.length);
  let out = text;
  for (const dir of dirs) out = out.split(`${dir}${path.sep}`).join(`…${path.sep}`);
  return out;
}
