/**
 * `npx tsx bench/download-memory.ts [--mb 200]`: the peak RSS of a client process downloading a
 * file of that size, with each SDK as users install it (the packed @lavendly/sdk, the Python wheel
 * in a venv): the way a caller had to before (the whole body read into memory, then written) and
 * with downloadFile / download_file. The file is served from disk by a plain HTTP listener in this
 * process (Content-Length, Accept-Ranges); each download runs in its own process; the figure is
 * that process's peak RSS (Node: process.resourceUsage().maxRSS, Python: ru_maxrss). "floor"
 * starts the client and downloads nothing.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { installConsumer, packedPackages, run } from '../test/helpers/packages.js';
import { buildPythonSdk } from '../test/python/venv.js';

const mbArg = process.argv.indexOf('--mb');
const targetMb = mbArg > 0 ? Number(process.argv[mbArg + 1]) : 200;

const NODE_CLIENT = `
import { writeFile } from 'node:fs/promises';
import { downloadFile, Lavendly } from '@lavendly/sdk';
const [url, out, mode] = process.argv.slice(2);
const client = new Lavendly({ apiKey: 'sk_bench', baseUrl: 'http://127.0.0.1:9/v1', timeout: 600_000 });
let bytes = 0;
if (mode === 'arrayBuffer') {
  const buf = new Uint8Array(await (await fetch(url)).arrayBuffer());
  await writeFile(out, buf);
  bytes = buf.byteLength;
}
if (mode === 'downloadFile') bytes = (await downloadFile(client, url, out)).bytes;
console.log(JSON.stringify({ bytes, maxRssKb: process.resourceUsage().maxRSS }));
`;

const PYTHON_CLIENT = `
import asyncio, json, resource, sys
from pathlib import Path
import httpx
from lavendly import AsyncLavendly, Lavendly
url, out, mode = sys.argv[1:]
client = Lavendly(api_key="sk_bench", base_url="http://127.0.0.1:9/v1", timeout=600)
size = 0
if mode == "content":
    data = httpx.get(url, timeout=600).content
    Path(out).write_bytes(data)
    size = len(data)
if mode == "download_file":
    size = client.download_file(url, out).bytes
if mode == "async download_file":
    async def main():
        async with AsyncLavendly(api_key="sk_bench", base_url="http://127.0.0.1:9/v1", timeout=600) as c:
            return (await c.download_file(url, out)).bytes
    size = asyncio.run(main())
print(json.dumps({"bytes": size, "maxRssKb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
`;

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lavendly-download-bench-'));
  const file = path.join(dir, 'big.bin');
  // Random bytes: nothing on the way can compress them.
  await writeFile(file, randomBytes(targetMb * 1024 * 1024));
  const size = (await stat(file)).size;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size, 'accept-ranges': 'bytes', etag: '"big"' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/big.bin`;
  const { sdk } = await packedPackages();
  const consumer = await installConsumer([sdk]);
  const python = buildPythonSdk();
  const rows: string[] = [];
  const measure = async (label: string, cmd: string, args: string[], cwd: string) => {
    const out = path.join(dir, `out-${rows.length}.bin`);
    const { stdout } = await run(cmd, [...args, url, out, label.split(': ')[1]!], { cwd, timeout: 600_000 });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as { bytes: number; maxRssKb: number };
    await rm(out, { force: true });
    rows.push(`${label.padEnd(34)} ${String(Math.round(r.maxRssKb / 1024)).padStart(5)} MB peak RSS  (${r.bytes} bytes)`);
  };
  try {
    await writeFile(path.join(consumer.dir, 'download.mjs'), NODE_CLIENT);
    await writeFile(path.join(python.dir, 'download.py'), PYTHON_CLIENT);
    for (const mode of ['floor', 'arrayBuffer', 'downloadFile']) await measure(`node: ${mode}`, process.execPath, ['download.mjs'], consumer.dir);
    for (const mode of ['floor', 'content', 'download_file', 'async download_file']) await measure(`python: ${mode}`, python.python, ['download.py'], python.dir);
    console.log(`downloading ${(size / 1e6).toFixed(1)} MB:\n${rows.join('\n')}`);
  } finally {
    server.closeAllConnections();
    server.close();
    await consumer.remove();
    python.remove();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
