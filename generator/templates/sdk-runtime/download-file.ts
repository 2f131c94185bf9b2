/**
 * `downloadFile` (Node, Deno, Bun): a download streamed into a temporary file beside the target,
 * renamed into place only once every byte the server declared arrived, so a cut-off transfer
 * leaves neither the target nor the temporary file. An existing file is never replaced unless
 * asked (`overwrite`).
 * Part of the SDK runtime (see index.ts). The one exception to "web-standard globals only": the
 * file system, reached through `process.getBuiltinModule` when downloadFile is called, never
 * imported, so the SDK still bundles for a browser (where downloadFile throws; use `download`).
 */
import { type AnyClient, downloadContextOf } from './client.js';
import { LavendlyError } from './errors.js';
import { type DownloadContext, type DownloadOptions, openDownload } from './downloads.js';

export interface DownloadFileOptions extends DownloadOptions {
  /** Replace a file already at the path (default false: fail with code `file_exists`). */
  overwrite?: boolean;
}

export interface DownloadedFile {
  path: string;
  /** Bytes written. */
  bytes: number;
  contentType: string | null;
}

/** The parts of node:fs/promises and node:path used here (no Node types in the SDK's declarations). */
interface FileHandle {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  truncate(len: number): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}
interface NodeFs {
  open(path: string, flags: string): Promise<FileHandle>;
  link(existing: string, target: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  lstat(path: string): Promise<unknown>;
}
interface NodePath {
  resolve(...parts: string[]): string;
  dirname(p: string): string;
  basename(p: string): string;
  join(...parts: string[]): string;
}

/**
 * A Node built-in, found without a static import, which would break the browser bundle:
 * `process.getBuiltinModule` (Node 20.16+, Deno, Bun), else a dynamic import whose specifier no
 * bundler follows (older Node 20).
 */
async function builtin<T>(name: string): Promise<T> {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown; versions?: { node?: string } } }).process;
  const mod = proc?.getBuiltinModule?.(name) ?? (proc?.versions?.node ? await import(/* @vite-ignore */ /* webpackIgnore: true */ name).catch(() => undefined) : undefined);
  if (!mod) throw new LavendlyError('downloadFile needs a file system (Node, Deno or Bun); elsewhere use download() and read its body', { code: 'unsupported_runtime' });
  return mod as T;
}

const exists = (fs: NodeFs, p: string) => fs.lstat(p).then(() => true, () => false);

function fileExists(target: string, cause?: unknown): LavendlyError {
  return new LavendlyError(`${target} already exists (pass overwrite: true to replace it)`, { code: 'file_exists', cause });
}

/**
 * Downloads `url` into the file `path` (Node, Deno, Bun) with `client`'s fetch, retries and API
 * key (as `download`): streamed to a temporary file beside it, which is renamed into place once
 * complete. Never replaces an existing file unless `overwrite` is set.
 * `import { downloadFile } from '@lavendly/sdk'; await downloadFile(client, url, 'render.mp4')`.
 */
export function downloadFile(client: AnyClient, url: string, path: string, options: DownloadFileOptions = {}): Promise<DownloadedFile> {
  return downloadToFile(downloadContextOf(client), url, path, options);
}

async function downloadToFile(ctx: DownloadContext, url: string, target: string, options: DownloadFileOptions = {}): Promise<DownloadedFile> {
  const fs = await builtin<NodeFs>('node:fs/promises');
  const paths = await builtin<NodePath>('node:path');
  const dest = paths.resolve(target);
  // Before any byte is fetched; the final link checks again, atomically.
  if (!options.overwrite && (await exists(fs, dest))) throw fileExists(dest);
  const temp = paths.join(paths.dirname(dest), `.${paths.basename(dest)}.${crypto.randomUUID().slice(0, 8)}.download`);
  const handle = await fs.open(temp, 'wx');
  let position = 0;
  let closed = false;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    const download = await openDownload(ctx, url, options, async () => {
      await handle.truncate(0);
      position = 0;
    });
    reader = download.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let at = 0; at < value.byteLength; ) {
        const { bytesWritten } = await handle.write(value, at, value.byteLength - at, position);
        at += bytesWritten;
        position += bytesWritten;
      }
    }
    // On disk before it is named: a crash after the rename must not leave a file of zeros.
    await handle.sync();
    closed = true;
    await handle.close();
    await moveIntoPlace(fs, temp, dest, options.overwrite === true);
    return { path: dest, bytes: position, contentType: download.contentType };
  } catch (err) {
    // A write that failed (a full disk) leaves the answer unread: end it, and its clock.
    await reader?.cancel(err).catch(() => undefined);
    if (!closed) await handle.close().catch(() => undefined);
    await fs.unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** rename, or (not replacing) link + unlink: link fails if the name was taken meanwhile, rename would not. */
async function moveIntoPlace(fs: NodeFs, temp: string, dest: string, overwrite: boolean): Promise<void> {
  if (overwrite) return fs.rename(temp, dest);
  try {
    await fs.link(temp, dest);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EEXIST') throw fileExists(dest, err);
    // A file system without hard links (some network and FUSE mounts): check, then rename.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw err;
    if (await exists(fs, dest)) throw fileExists(dest, err);
    return fs.rename(temp, dest);
  }
  await fs.unlink(temp);
}
