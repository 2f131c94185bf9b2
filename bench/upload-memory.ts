/**
 * `npx tsx bench/upload-memory.ts [--mb 200]`: the peak RSS of a client process uploading a video
 * of about that size as an asset, with each SDK as users install it (the packed @lavendly/sdk, the
 * Python wheel in a venv), the way a caller had to before (the whole file read into memory, then
 * put_upload) and with the streaming helpers. Each upload runs in its own process against one
 * live server (SQLite, in this process); the figure is that process's peak RSS (Node:
 * process.resourceUsage().maxRSS, Python: ru_maxrss). "floor" opens a slot and uploads nothing.
 */
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runFfmpeg } from '../src/media/binaries.js';
import { installConsumer, packedPackages, run } from '../test/helpers/packages.js';
import { startTestServer } from '../test/helpers/server.js';
import { buildPythonSdk } from '../test/python/venv.js';

const mbArg = process.argv.indexOf('--mb');
const targetMb = mbArg > 0 ? Number(process.argv[mbArg + 1]) : 200;

const NODE_CLIENT = `
import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Lavendly } from '@lavendly/sdk';
const [baseUrl, apiKey, file, mode] = process.argv.slice(2);
const client = new Lavendly({ apiKey, baseUrl, maxRetries: 0, timeout: 600_000 });
const params = { kind: 'video', filename: 'big.mp4' };
let asset = null;
if (mode === 'floor') await client.assets.createUpload(params);
if (mode === 'bytes') {
  const slot = await client.assets.createUpload(params);
  asset = await client.assets.upload({ id: slot.id, token: slot.token, body: await readFile(file) });
}
if (mode === 'blob') asset = await client.assets.uploadFile(await fs.openAsBlob(file), params);
if (mode === 'stream') asset = await client.assets.uploadFile(Readable.toWeb(fs.createReadStream(file)), { ...params, bytes: fs.statSync(file).size });
console.log(JSON.stringify({ bytes: asset?.bytes ?? 0, maxRssKb: process.resourceUsage().maxRSS }));
`;

const PYTHON_CLIENT = `
import asyncio, json, resource, sys
from pathlib import Path
from lavendly import AsyncLavendly, Lavendly
base_url, api_key, file, mode = sys.argv[1:]
client = Lavendly(api_key=api_key, base_url=base_url, max_retries=0, timeout=600)
asset = None
if mode == "floor":
    client.assets.create_upload(kind="video", filename="big.mp4")
if mode == "bytes":
    slot = client.assets.create_upload(kind="video", filename="big.mp4")
    asset = client.assets.upload(slot["id"], token=slot["token"], body=Path(file).read_bytes())
if mode == "path":
    asset = client.assets.upload_file(Path(file), kind="video")
if mode == "async path":
    async def main():
        async with AsyncLavendly(api_key=api_key, base_url=base_url, max_retries=0, timeout=600) as c:
            return await c.assets.upload_file(Path(file), kind="video")
    asset = asyncio.run(main())
print(json.dumps({"bytes": asset["bytes"] if asset else 0, "maxRssKb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
`;

async function main(): Promise<void> {
  const server = await startTestServer('sqlite');
  const python = buildPythonSdk();
  const { sdk: tarball } = await packedPackages();
  const consumer = await installConsumer([tarball]);
  try {
    // Noise does not compress: about 5.7 MB a second of 640x360 MPEG-4 at q 2.
    const video = path.join(consumer.dir, 'big.mp4');
    const seconds = Math.max(1, Math.round(targetMb / 5.7));
    await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=25', '-t', String(seconds), '-vf', 'noise=alls=60:allf=t+u', '-c:v', 'mpeg4', '-q:v', '2', video], { timeoutMs: 600_000 });
    const size = (await stat(video)).size;
    console.log(`file: ${(size / 1e6).toFixed(1)} MB (${seconds} s of video)`);
    await writeFile(path.join(consumer.dir, 'client.mjs'), NODE_CLIENT);
    await writeFile(path.join(python.dir, 'client.py'), PYTHON_CLIENT);
    const runs: [string, string, () => Promise<string>][] = [];
    for (const mode of ['floor', 'bytes', 'blob', 'stream']) {
      runs.push(['@lavendly/sdk', mode, async () => (await run(process.execPath, ['client.mjs', server.base, await key(), video, mode], { cwd: consumer.dir, timeout: 600_000 })).stdout]);
    }
    for (const mode of ['floor', 'bytes', 'path', 'async path']) {
      runs.push(['lavendly (Python)', mode, async () => {
        const r = await python.runAsync(['client.py', server.base, await key(), video, mode], { timeoutMs: 600_000 });
        if (r.status !== 0) throw new Error(r.stderr);
        return r.stdout;
      }]);
    }
    console.log('| client | upload | peak RSS | stored bytes |\n|---|---|---|---|');
    for (const [client, mode, go] of runs) {
      const out = JSON.parse((await go()).trim().split('\n').pop()!) as { bytes: number; maxRssKb: number };
      console.log(`| ${client} | ${mode} | ${(out.maxRssKb / 1024).toFixed(0)} MB | ${out.bytes === size ? 'the file' : out.bytes} |`);
    }
  } finally {
    await consumer.remove();
    python.remove();
    await server.close();
  }

  // One account per upload: the storage quota never decides a run.
  async function key(): Promise<string> {
    return (await server.account()).key;
  }
}

await main();
