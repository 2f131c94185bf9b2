/**
 * `npx tsx bench/packages.ts`: what the packages cost their users. Builds and packs them (as the
 * package tests do), installs each tarball into a fresh directory outside the repository, and
 * prints: the tarball, the installed size and the number of installed packages, and for the SDK
 * the size of a browser bundle (esbuild, minified, then gzip -9) of the whole client.
 * Targets: @lavendly/sdk under 200 KB unpacked with 0 dependencies. @lavendly/mcp's install is
 * mostly @modelcontextprotocol/sdk's own dependencies (express, hono, ajv, zod, ...).
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { installConsumer, packedPackages, type PackageName } from '../test/helpers/packages.js';

async function du(p: string): Promise<number> {
  const info = await stat(p);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(p)) total += await du(path.join(p, entry));
  return total;
}

/** Installed packages under node_modules (scoped ones counted one by one). */
async function packagesIn(nodeModules: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(nodeModules).catch(() => [] as string[])) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) for (const sub of await readdir(path.join(nodeModules, entry))) out.push(`${entry}/${sub}`);
    else out.push(entry);
  }
  return out;
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

const tarballs = await packedPackages();
const packageDir: Record<PackageName, string> = { sdk: '@lavendly/sdk', mcp: '@lavendly/mcp' };
const specsFor: Record<PackageName, string[]> = { sdk: [tarballs.sdk], mcp: [tarballs.sdk, tarballs.mcp] };

for (const name of Object.keys(tarballs) as PackageName[]) {
  const consumer = await installConsumer(specsFor[name]);
  try {
    const nodeModules = path.join(consumer.dir, 'node_modules');
    const own = await du(path.join(nodeModules, packageDir[name]));
    const all = await du(nodeModules);
    const installed = await packagesIn(nodeModules);
    console.log(`${packageDir[name]}`);
    console.log(`  tarball                 ${kb((await stat(tarballs[name])).size)}`);
    console.log(`  package unpacked        ${kb(own)}`);
    console.log(`  install (node_modules)  ${all > 1024 * 1024 ? mb(all) : kb(all)}, ${installed.length} packages (${installed.length - 1} dependencies)`);
    if (name === 'sdk') {
      for (const [label, contents] of [
        ['client only', "import { Lavendly } from '@lavendly/sdk'; export const client = new Lavendly();"],
        ['everything', "export * from '@lavendly/sdk';"],
      ] as const) {
        const result = await build({
          stdin: { contents, resolveDir: consumer.dir, loader: 'js' },
          bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022', write: false,
        });
        const code = result.outputFiles[0]!.contents;
        console.log(`  browser bundle (${label}): ${kb(code.length)} minified, ${kb(gzipSync(code, { level: 9 }).length)} gzip`);
      }
    }
  } finally {
    await consumer.remove();
  }
}
