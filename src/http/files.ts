/**
 * `GET|HEAD /files/<key>?exp=..&sig=..`: serves stored files to whoever holds a valid signed URL.
 * Expired or tampered links answer 403 (thrown as ApiError, rendered by the envelope middleware);
 * single byte ranges are honoured (206 / 416) so video players can seek. Works on every driver
 * (links made before a switch to S3 keep working); the S3 driver's own links go to the store.
 */
import path from 'node:path';
import type Koa from 'koa';
import { ApiError } from './errors.js';
import { mimeForExt } from '../net/sniff.js';
import { FileMissingError, type Storage } from '../storage/base.js';
import { clusterNow } from '../db/cluster-time.js';

export interface ServeOptions {
  /** URL prefix (default `/files`). */
  prefix?: string;
}

export type ByteRange = { start: number; end: number };

/**
 * Parse a Range header against a file size: a range, `'unsatisfiable'`, or null to serve the whole
 * file (absent, not bytes, malformed, or several ranges, which RFC 9110 lets a server ignore).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header.trim());
  if (!m) return null;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return null;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Number(b);
  if (b !== '' && end < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

export function serveSignedFiles(storage: Storage, options: ServeOptions = {}): Koa.Middleware {
  const prefix = (options.prefix ?? '/files').replace(/\/+$/, '');
  return async (ctx, next) => {
    if (!ctx.path.startsWith(`${prefix}/`)) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      throw new ApiError('method_not_allowed', 'Stored files can only be read (GET or HEAD).', {}, { Allow: 'GET, HEAD' });
    }
    let key: string;
    try {
      key = ctx.path.slice(prefix.length + 1).split('/').map(decodeURIComponent).join('/');
    } catch {
      throw new ApiError('forbidden', 'This file link is not valid.', { reason: 'malformed' });
    }
    const check = storage.verifySignedUrl({ key, exp: ctx.query.exp as string | undefined, sig: ctx.query.sig as string | undefined });
    if (!check.ok) {
      const message = check.reason === 'expired'
        ? 'This file link has expired; ask the API for a fresh URL.'
        : 'This file link is not valid (missing, altered or forged signature).';
      throw new ApiError('forbidden', message, { reason: check.reason });
    }
    const stat = await storage.stat(key);
    if (!stat) throw new ApiError('not_found', 'This file no longer exists.', { resource: 'file' });

    const size = stat.size;
    const etag = `"${size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const secondsLeft = Math.max(0, Math.floor((check.expiresAt.getTime() - clusterNow()) / 1000));
    ctx.set('Accept-Ranges', 'bytes');
    ctx.set('ETag', etag);
    ctx.set('Last-Modified', stat.mtime.toUTCString());
    ctx.set('Cache-Control', `private, max-age=${secondsLeft}`);
    // The content type was chosen by sniffing when the file was stored; never let a browser guess,
    // and never let a stored file run script on this origin.
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Content-Security-Policy', "default-src 'none'; media-src 'self'; img-src 'self'; sandbox");
    ctx.set('Content-Disposition', 'inline');

    const ifRange = ctx.get('if-range');
    const rangeHeader = ifRange && ifRange !== etag ? undefined : ctx.get('range') || undefined;
    const range = parseRange(rangeHeader, size);
    if (range === 'unsatisfiable') {
      throw new ApiError('range_not_satisfiable', `The requested range is outside the file (${size} bytes).`, { size }, { 'Content-Range': `bytes */${size}` });
    }
    const type = mimeForExt(path.extname(key).slice(1));
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    const length = size === 0 ? 0 : end - start + 1;
    if (ctx.method === 'HEAD' || length === 0) {
      ctx.body = null; // resets status, type and length: set them after
    } else {
      try {
        ctx.body = await storage.read(key, { start, end });
      } catch (err) {
        // Deleted between the stat and the read.
        if (err instanceof FileMissingError) throw new ApiError('not_found', 'This file no longer exists.', { resource: 'file' });
        throw err;
      }
    }
    ctx.status = range ? 206 : 200;
    if (range) ctx.set('Content-Range', `bytes ${start}-${end}/${size}`);
    ctx.type = type;
    ctx.length = length;
  };
}
