/**
 * The web console (console/, a Vite app built into console/dist by `npm run build:console`, which
 * `npm ci`/`npm install` run through the root `prepare` script): its built files at `/`, and its
 * index.html for every page the app routes itself (history-API fallback), so a reload of
 * `/workflows/wf_1` opens that page. Only GET and HEAD on the console's own paths are answered;
 * everything else (the API under /v1, /auth, /docs, /mcp, /files, the probes) passes on untouched.
 *
 * The files are read into memory on first use (the build is small) and kept; until a build exists
 * the console's pages answer 503 with the command that builds it, and the next request looks again.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type Koa from 'koa';
import type { Config } from '../config.js';

/** First path segments the app routes in the browser (`Page` and `APP_PATHS` in console/src/main.tsx route the same ones). */
const APP_ROUTES = ['workflows', 'uploads', 'settings', 'usage', 'sign-in'];
/** Pages of the app that live under another mount's prefix. */
const APP_PAGES = new Set(['/', '/docs/try']);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = /^(text\/|application\/json|image\/svg)/;

interface StaticFile {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
  /** Vite puts content-hashed names under assets/: those never change, so they are cached for good. */
  immutable: boolean;
}

export interface ConsoleOptions {
  /** The built app. Default: console/dist of this checkout (or of dist/ in a production build). */
  dir?: string;
  /**
   * Origins besides this one that pages load media from and send uploads to (the public base URL
   * that signed file and upload links name, or an object store's). Added to the CSP.
   */
  mediaOrigins?: string[];
}

const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../console/dist', import.meta.url));

/** Where the console's media and uploads live besides its own origin: the public URL, and an S3 store's public endpoint. */
export function consoleMediaOrigins(config: Pick<Config, 'publicBaseUrl' | 'storage'>): string[] {
  const origins = [new URL(config.publicBaseUrl).origin];
  if (config.storage.driver === 's3') origins.push(new URL(config.storage.publicEndpoint).origin);
  return origins;
}

/** The policy the app is built to satisfy: its own scripts and styles only, nothing inline. */
export function consoleCsp(mediaOrigins: string[] = []): string {
  const media = ["'self'", ...new Set(mediaOrigins)].join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src ${media} data: blob:`,
    `media-src ${media} blob:`,
    `connect-src ${media}`,
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function loadFiles(dir: string): Map<string, StaticFile> | null {
  if (!existsSync(path.join(dir, 'index.html'))) return null;
  const files = new Map<string, StaticFile>();
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel))) {
      const relPath = rel ? `${rel}/${name}` : name;
      const full = path.join(dir, relPath);
      if (statSync(full).isDirectory()) {
        walk(relPath);
        continue;
      }
      const body = readFileSync(full);
      const type = TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream';
      files.set(`/${relPath}`, {
        body,
        gzip: COMPRESSIBLE.test(type) && body.length > 512 ? gzipSync(body) : null,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        immutable: relPath.startsWith('assets/'),
      });
    }
  };
  walk('');
  return files;
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Console not built</title></head>
<body><main><h1>The console is not built yet</h1>
<p>Run <code>npm run build:console</code> in the server's directory (it also runs on <code>npm ci</code>), then reload.</p>
<p>The API itself is at <a href="/v1/_status">/v1</a> and its reference at <a href="/docs">/docs</a>.</p></main></body></html>`;

function isAppPage(p: string): boolean {
  if (APP_PAGES.has(p)) return true;
  const first = p.split('/')[1] ?? '';
  return APP_ROUTES.includes(first);
}

/** Koa middleware serving the console; mount it outside the API's prefix, after the other mounts. */
export function consoleApp(options: ConsoleOptions = {}): Koa.Middleware {
  const dir = options.dir ?? DEFAULT_CONSOLE_DIR;
  const csp = consoleCsp(options.mediaOrigins);
  let files: Map<string, StaticFile> | null = null;

  return (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    files ??= loadFiles(dir);
    const file = files?.get(ctx.path);
    const page = !file && isAppPage(ctx.path);
    if (!file && !page) return next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    if (!files || page || ctx.path === '/index.html') {
      // The HTML: always revalidated (it names the current hashed bundles), under the policy.
      ctx.set('Content-Security-Policy', csp);
      ctx.set('Referrer-Policy', 'same-origin');
      ctx.set('X-Frame-Options', 'DENY');
      ctx.set('Cache-Control', 'no-cache');
    }
    if (!files) {
      ctx.status = 503;
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = NOT_BUILT;
      return Promise.resolve();
    }
    const served = file ?? files.get('/index.html')!;
    if (file && !page && ctx.path !== '/index.html') {
      ctx.set('Cache-Control', served.immutable ? 'public, max-age=31536000, immutable' : 'public, max-age=300');
    }
    ctx.set('ETag', served.etag);
    ctx.set('Vary', 'Accept-Encoding');
    ctx.status = 200;
    if (ctx.fresh) {
      ctx.status = 304;
      return Promise.resolve();
    }
    ctx.type = served.type;
    const gzip = served.gzip && ctx.acceptsEncodings('gzip', 'identity') === 'gzip';
    if (gzip) ctx.set('Content-Encoding', 'gzip');
    ctx.body = gzip ? served.gzip : served.body;
    return Promise.resolve();
  };
}
