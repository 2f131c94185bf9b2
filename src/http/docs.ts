/**
 * The API reference: `GET /docs` renders spec/openapi.yaml with Redoc, and `GET /v1/openapi.json`
 * serves the spec itself as JSON, with this server's public URL in `servers` and the generated
 * code samples (`x-codeSamples`: curl, TypeScript, Python) on each operation. Everything the page needs comes from this server (the Redoc
 * bundle out of node_modules, a tiny init script, the spec), and a Content-Security-Policy keeps
 * it that way: no CDN, no web fonts, nothing fetched from elsewhere.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type Koa from 'koa';
import { parse } from 'yaml';
import { ApiError } from './errors.js';

export interface ApiDocsOptions {
  /** The API's path prefix (the spec's server URL path); the spec is served at `<basePath>/openapi.json`. */
  basePath?: string;
  /** Where the page lives. Default `/docs`. */
  docsPath?: string;
  /** The spec file. Default: spec/openapi.yaml of this checkout. */
  specFile?: string;
  /** The API's public URL (e.g. `https://api.example.com/v1`): the served spec's `servers`. Default: as in the spec. */
  serverUrl?: string;
  /** `x-codeSamples` to add to each operation, by operationId (Redoc shows them beside the operation). */
  codeSamples?: { [operationId: string]: { lang: string; label: string; source: string }[] };
}

interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  etag: string;
}

function asset(body: Buffer | string, type: string): Asset {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return { body: buf, gzip: gzipSync(buf), type, etag: `"${createHash('sha256').update(buf).digest('base64url').slice(0, 27)}"` };
}

// Redoc renders with inline styles (styled-components) and runs its search index in a blob: worker;
// scripts, data and everything else must come from this origin.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SYSTEM_FONTS = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Noto Sans', 'Liberation Sans', sans-serif";
const MONO_FONTS = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', 'DejaVu Sans Mono', monospace";

/** Redoc options: system fonts instead of its (unloaded) Roboto/Montserrat, success responses open. */
const REDOC_OPTIONS = {
  expandResponses: '200,201,202',
  jsonSampleExpandLevel: 3,
  pathInMiddlePanel: true,
  sortPropsAlphabetically: false,
  hideDownloadButtons: false,
  theme: {
    typography: {
      fontFamily: SYSTEM_FONTS,
      headings: { fontFamily: SYSTEM_FONTS },
      code: { fontFamily: MONO_FONTS },
    },
  },
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, docsPath: string, specUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>body { margin: 0; padding: 0; } .try { padding: 8px 16px; font: 14px ${SYSTEM_FONTS}; border-bottom: 1px solid #ddd; } .try a { color: #4a2f7a; }</style>
</head>
<body>
<nav class="try" aria-label="Console"><a href="${escapeHtml(docsPath)}/try">Try it: send live requests signed in to the console</a> · <a href="/">Open the console</a></nav>
<div id="redoc" data-spec-url="${escapeHtml(specUrl)}"><noscript>The API reference needs JavaScript; the spec itself is at <a href="${escapeHtml(specUrl)}">${escapeHtml(specUrl)}</a>.</noscript></div>
<script src="${escapeHtml(docsPath)}/redoc.standalone.js"></script>
<script src="${escapeHtml(docsPath)}/init.js"></script>
</body>
</html>
`;
}

const INIT = `(function () {
  var el = document.getElementById('redoc');
  Redoc.init(el.getAttribute('data-spec-url'), ${JSON.stringify(REDOC_OPTIONS)}, el);
})();
`;

/**
 * Redoc's sidebar footer ("API docs by Redocly") always loads its logo from Redocly's CDN; the
 * link and text stay, the image becomes an empty inline SVG so the page fetches nothing off-site.
 */
const REDOCLY_LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
const EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";
function localOnly(source: string): string {
  return source.split(REDOCLY_LOGO).join(EMPTY_SVG);
}

type SpecDocument = { info?: { title?: string }; servers?: { url: string }[]; paths?: Record<string, Record<string, unknown>> };

/** Parsed once per process and file (every app a test suite creates shares it). */
const specs = new Map<string, SpecDocument>();
function loadSpec(file: string): SpecDocument {
  let spec = specs.get(file);
  if (!spec) specs.set(file, (spec = parse(readFileSync(file, 'utf8')) as SpecDocument));
  return spec;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** The spec as served: this server's URL in `servers`, code samples beside each operation. */
function servedSpec(spec: SpecDocument, options: ApiDocsOptions): SpecDocument {
  const out: SpecDocument = { ...spec };
  if (options.serverUrl) out.servers = [{ ...spec.servers?.[0], url: options.serverUrl }];
  const samples = options.codeSamples;
  if (samples && spec.paths) {
    out.paths = Object.fromEntries(Object.entries(spec.paths).map(([p, item]) => [p, Object.fromEntries(Object.entries(item).map(([method, op]) => {
      const id = HTTP_METHODS.has(method) && op && typeof op === 'object' ? (op as { operationId?: unknown }).operationId : undefined;
      return [method, typeof id === 'string' && samples[id] ? { ...(op as object), 'x-codeSamples': samples[id] } : op];
    }))]));
  }
  return out;
}

export interface ApiDocs {
  /** The reference page and its scripts under `docsPath` (outside the API); passes other requests on. */
  pages: Koa.Middleware;
  /** `GET <basePath>/openapi.json`: for the API router, which answers its 405s and 404s. */
  spec: Koa.Middleware;
}

/** Serves the reference page, its scripts and the spec as JSON. */
export function apiDocs(options: ApiDocsOptions = {}): ApiDocs {
  const basePath = (options.basePath ?? '/v1').replace(/\/+$/, '');
  const docsPath = (options.docsPath ?? '/docs').replace(/\/+$/, '');
  const specFile = options.specFile ?? fileURLToPath(new URL('../../spec/openapi.yaml', import.meta.url));
  const specUrl = `${basePath}/openapi.json`;

  // Read once at startup: a broken spec fails here, not on the first visitor.
  const spec = servedSpec(loadSpec(specFile), options);
  const json = asset(JSON.stringify(spec), 'application/json; charset=utf-8');
  const title = `${spec.info?.title ?? 'API'} reference`;
  const assets = new Map<string, Asset | (() => Asset)>([
    [docsPath, asset(page(title, docsPath, specUrl), 'text/html; charset=utf-8')],
    [`${docsPath}/init.js`, asset(INIT, 'text/javascript; charset=utf-8')],
  ]);
  // The Redoc bundle (1 MB) is loaded on first use, then kept.
  const require = createRequire(import.meta.url);
  const bundle = (name: string) => readFileSync(require.resolve(`redoc/bundles/${name}`));
  let redoc: Asset | undefined;
  let redocMap: Asset | undefined;
  assets.set(`${docsPath}/redoc.standalone.js`, () => (redoc ??= asset(localOnly(bundle('redoc.standalone.js').toString('utf8')), 'text/javascript; charset=utf-8')));
  assets.set(`${docsPath}/redoc.standalone.js.map`, () => (redocMap ??= asset(bundle('redoc.standalone.js.map'), 'application/json; charset=utf-8')));

  const pages: Koa.Middleware = (ctx, next) => {
    const key = ctx.path === `${docsPath}/` ? docsPath : ctx.path;
    const entry = assets.get(key);
    if (!entry) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      throw new ApiError('method_not_allowed', `${ctx.path} does not accept ${ctx.method}; it accepts GET, HEAD.`, {
        method: ctx.method, allowed: ['GET', 'HEAD'],
      }, { Allow: 'GET, HEAD' });
    }
    serveAsset(ctx, key, typeof entry === 'function' ? entry() : entry);
    return Promise.resolve();
  };
  const specMiddleware: Koa.Middleware = (ctx) => {
    serveAsset(ctx, specUrl, json);
    return Promise.resolve();
  };
  return { pages, spec: specMiddleware };

  function serveAsset(ctx: Koa.Context, key: string, a: Asset): void {
    ctx.set('ETag', a.etag);
    ctx.set('Cache-Control', key === docsPath || key === specUrl ? 'no-cache' : 'public, max-age=3600');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Vary', 'Accept-Encoding');
    if (key === docsPath) {
      ctx.set('Content-Security-Policy', CSP);
      ctx.set('Referrer-Policy', 'no-referrer');
    }
    if (key === specUrl) ctx.set('Access-Control-Allow-Origin', '*');
    ctx.status = 200;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.type = a.type;
    const gzip = ctx.acceptsEncodings('gzip', 'identity') === 'gzip';
    if (gzip) ctx.set('Content-Encoding', 'gzip');
    ctx.body = gzip ? a.gzip : a.body;
  };
}
