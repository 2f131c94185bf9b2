/**
 * The files a spec consists of: its root and, transitively, every local file a `$ref` names
 * (`$ref: './common.yaml#/components/schemas/Pet'`). Found by scanning the text, not by parsing it,
 * so that the content key (what caches and `--watch` compare) costs a hash, not a YAML parse.
 * `read` is the file system for the working tree, `git show` for `diff --base <ref>`.
 */
import path from 'node:path';
import { sha256 } from './cache.js';

export interface SpecFile {
  /** Absolute path (for a git ref: where the file sits in the working tree). */
  path: string;
  bytes: Buffer;
}

export interface SpecFiles {
  /** Root first, then in the order their refs were found. */
  files: SpecFile[];
  /** A ref to a URL (`https://...`): its content is not ours to hash, so results must not be cached. */
  remote: boolean;
  /** sha256 over every file's path (relative to the root's folder) and bytes. */
  key: string;
}

/** `$ref: value` in YAML (block or flow) or JSON: the part before `#`, when there is one. */
const REF = /["']?\$ref["']?\s*:\s*["']?([^"'\s#,}\]]*)/g;
const URL_REF = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The non-local parts of the `$ref`s in a file's text: `./common.yaml`, `https://...`. */
export function externalRefs(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(REF)) if (m[1]) out.add(m[1]);
  return [...out];
}

/**
 * Reads the root and every file it references. A referenced file that `read` cannot find is left
 * out (the bundler then reports it with its own message).
 */
export async function specFiles(root: string, read: (file: string) => Promise<Buffer | null>): Promise<SpecFiles> {
  const rootPath = path.resolve(root);
  const base = path.dirname(rootPath);
  const files: SpecFile[] = [];
  const seen = new Set<string>();
  let remote = false;
  const queue = [rootPath];
  while (queue.length) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const bytes = await read(file);
    if (!bytes) {
      if (file === rootPath) throw Object.assign(new Error(`${root}: no such file`), { code: 'ENOENT' });
      continue;
    }
    files.push({ path: file, bytes });
    for (const ref of externalRefs(bytes.toString('utf8'))) {
      if (URL_REF.test(ref)) remote = true;
      else queue.push(path.resolve(path.dirname(file), safeDecode(ref)));
    }
  }
  const parts = files.flatMap((f) => [path.relative(base, f.path).split(path.sep).join('/'), f.bytes]);
  return { files, remote, key: sha256(...parts) };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
