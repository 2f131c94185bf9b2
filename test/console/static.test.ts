/**
 * How the server serves the built console (src/http/console-static.ts): the app at / and at every
 * console route (history fallback) under the CSP, hashed assets cached for good, gzip and 304s,
 * and none of the server's own paths shadowed (/v1, /auth, /docs, /mcp, /files, the probes).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleApp, consoleCsp, consoleMediaOrigins } from '../../src/http/console-static.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ensureConsoleBuilt, ROOT } from './harness.js';

let server: TestServer;
let html = '';

/** A GET without automatic decompression, so Content-Encoding and the raw bytes can be checked. */
function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  ensureConsoleBuilt();
  server = await startTestServer('sqlite');
  html = (await get(`${server.origin}/`)).body.toString('utf8');
});
afterAll(async () => {
  await server?.close();
});

describe('the console at /', () => {
  it('answers / and every console route with the app page, its CSP and no-cache', async () => {
    for (const p of ['/', '/workflows', '/workflows/wf_123', '/settings', '/settings/api-keys', '/usage', '/uploads', '/sign-in?next=%2Fusage', '/docs/try']) {
      const res = await get(`${server.origin}${p}`);
      expect(res.status, p).toBe(200);
      expect(res.headers['content-type'], p).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control'], p).toBe('no-cache');
      expect(res.headers['x-content-type-options'], p).toBe('nosniff');
      const csp = String(res.headers['content-security-policy']);
      expect(csp, p).toContain("script-src 'self'");
      expect(csp, p).toContain("frame-ancestors 'none'");
      expect(csp, p).not.toContain('unsafe-inline');
      expect(res.body.toString('utf8'), p).toContain('<div id="app">');
    }
  });

  it('has no inline script or style in the page, so the CSP holds without exceptions', () => {
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);
  });

  it('serves hashed assets with their type, cached for a year, gzipped when asked, 304 on a match', async () => {
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const css = /href="(\/assets\/[^"]+\.css)"/.exec(html)?.[1];
    expect(js && css).toBeTruthy();
    const plain = await get(`${server.origin}${js}`);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    const zipped = await get(`${server.origin}${js}`, { 'accept-encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.body.length).toBeLessThan(plain.body.length);
    const again = await get(`${server.origin}${js}`, { 'if-none-match': String(plain.headers.etag) });
    expect(again.status).toBe(304);
    expect((await get(`${server.origin}${css}`)).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get(`${server.origin}/favicon.svg`)).headers['content-type']).toBe('image/svg+xml');
    const head = await get(`${server.origin}/workflows`, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it('leaves the API, sign-in, reference, MCP, files and probes to their owners', async () => {
    const status = await get(`${server.origin}/v1/_status`);
    expect(status.headers['content-type']).toMatch(/^application\/json/);
    const unknownApi = await get(`${server.origin}/v1/workflows-nope`);
    expect(unknownApi.status).toBe(404);
    expect(JSON.parse(unknownApi.body.toString()).error.code).toBe('not_found');
    const session = await get(`${server.origin}/auth/session`);
    expect(session.status).toBe(401);
    expect(session.headers['content-type']).toMatch(/^application\/json/);
    const docs = await get(`${server.origin}/docs`);
    expect(docs.body.toString()).toContain('redoc');
    expect((await get(`${server.origin}/livez`)).status).toBe(200);
    for (const p of ['/mcp', '/files/nothing', '/assets/missing.js', '/workflowsx', '/nothing-here']) {
      const res = await get(`${server.origin}${p}`);
      expect(res.headers['content-type'], p).not.toMatch(/text\/html/);
      expect(res.status, p).toBeGreaterThanOrEqual(400);
    }
    // Only GET and HEAD reach the console; other methods keep the server's own answers.
    const post = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${server.origin}/workflows`, { method: 'POST' }, (res) => { res.resume(); resolve(res.statusCode!); });
      req.on('error', reject);
      req.end();
    });
    expect(post).toBe(404);
  });

  it('lets pages load media from the public URL and an S3 store\'s public endpoint, nothing else', () => {
    const origins = consoleMediaOrigins({
      publicBaseUrl: 'https://api.example.com/base',
      storage: { driver: 's3', bucket: 'media', endpoint: 'http://minio:9000', publicEndpoint: 'https://media.example.com', region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b', sessionToken: null, timeoutMs: 30_000 },
    });
    expect(origins).toEqual(['https://api.example.com', 'https://media.example.com']);
    const csp = consoleCsp(origins);
    expect(csp).toContain("media-src 'self' https://api.example.com https://media.example.com blob:");
    expect(csp).toContain("img-src 'self' https://api.example.com https://media.example.com data: blob:");
    expect(csp).not.toContain('minio');
  });

  it('answers 503 with the build command until a build exists, then serves it without a restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-console-dist-'));
    const app = new Koa();
    app.use(consoleApp({ dir }));
    const listener = http.createServer(app.callback());
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
    const origin = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
    try {
      const missing = await get(`${origin}/workflows`);
      expect(missing.status).toBe(503);
      expect(missing.body.toString()).toContain('npm run build:console');
      fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><div id="app"></div>');
      const built = await get(`${origin}/workflows`);
      expect(built.status).toBe(200);
      expect(built.body.toString()).toContain('<div id="app">');
    } finally {
      listener.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('type-checks (Vite compiles the console without checking types; CI checks them here)', () => {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    let errors = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'console')], { cwd: ROOT, stdio: 'pipe' });
    } catch (err) {
      errors = String((err as { stdout?: Buffer }).stdout ?? err); // tsc reports on stdout
    }
    expect(errors).toBe('');
  }, 120_000);
});
