// Builds the console into console/dist (served by src/http/console-static.ts). `@lavendly/sdk` is the
// generated SDK's source (generated/sdk.gen.ts), the same code packages/sdk publishes, so the
// console never needs `npm run build:packages` first. `npx vite console` runs it in development
// against a server on :8090 (LAVENDLY_URL to change), proxying the server's paths.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const server = process.env.LAVENDLY_URL ?? 'http://127.0.0.1:8090';
const proxied = ['/v1', '/auth', '/files', '/docs'];

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    alias: { '@lavendly/sdk': fileURLToPath(new URL('../generated/sdk.gen.ts', import.meta.url)) },
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline scripts or styles: the served CSP allows 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  // The server refuses cookie writes from another origin: the proxy presents them as its own.
  server: {
    proxy: Object.fromEntries(proxied.map((p) => [p, {
      target: server,
      changeOrigin: true,
      configure: (proxy: { on(event: 'proxyReq', fn: (req: { setHeader(k: string, v: string): void }) => void): void }) =>
        proxy.on('proxyReq', (req) => req.setHeader('origin', new URL(server).origin)),
    }])),
  },
});
