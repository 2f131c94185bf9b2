/**
 * `import { Lavendly } from 'lavendly/sdk'` from another package: a throwaway consumer package
 * whose node_modules/lavendly links to this repository, run under tsx against a real HTTP server
 * and type-checked with tsc under `moduleResolution` bundler and NodeNext (so the export resolves to
 * real types, not `any`).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const REPO = path.resolve('.');
const bin = (name: string) => path.join(REPO, 'node_modules/.bin', name);

const CONSUMER = `
import { Lavendly, LavendlyError, NotFoundError, ValidationError, verifyWebhook, type ServiceStatus, type Workflow } from 'lavendly/sdk';

const client = new Lavendly({ apiKey: 'lv_consumer', baseUrl: process.argv[2], maxRetries: 0 });

async function main(): Promise<void> {
  const status: ServiceStatus = await client.telemetry.getStatus();
  const missing = await client.workflows.get({ id: 'wf_missing' }).catch((e: unknown) => e);
  console.log(JSON.stringify({
    status,
    missing: missing instanceof NotFoundError && missing instanceof LavendlyError ? missing.code : String(missing),
    helpers: [typeof verifyWebhook, typeof ValidationError],
  }));
}

// Types only: never called.
export async function typed(): Promise<void> {
  const wf: Workflow = await client.workflows.create({ name: 'Fox', shots: [{ prompt: 'a fox', duration_s: 5 }] });
  // @ts-expect-error shots are required
  await client.workflows.create({ name: 'Fox' });
  // @ts-expect-error no such method
  await client.workflows.nope();
  const id: string = wf.id;
  void id;
}

await main();
`;

let dir: string;
let server: Server;
let base: string;
const seen: { method: string; url: string; auth: string | undefined }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lavendly-consumer-'));
  await mkdir(path.join(dir, 'node_modules'));
  await symlink(REPO, path.join(dir, 'node_modules', 'lavendly'), 'dir');
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await writeFile(path.join(dir, 'main.ts'), CONSUMER);
  // One consumer per module resolution: bundler, and NodeNext (which needs extensions on relative imports).
  for (const [file, resolution] of [['tsconfig.json', { module: 'ESNext', moduleResolution: 'bundler' }], ['tsconfig.nodenext.json', { module: 'NodeNext', moduleResolution: 'NodeNext' }]] as const) {
    await writeFile(
      path.join(dir, file),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022', ...resolution, strict: true, noEmit: true, skipLibCheck: true,
          lib: ['ES2023'], types: ['node'], typeRoots: [path.join(REPO, 'node_modules/@types')],
        },
        files: ['main.ts'],
      }),
    );
  }
  server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization });
    if (req.url === '/v1/_status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', version: '1.0.0' }));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'not_found', message: 'No such workflow.', request_id: 'req_1' } }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the 'lavendly/sdk' package export", () => {
  it('imports and calls the API from another package under tsx', async () => {
    const { stdout } = await run(bin('tsx'), ['main.ts', base], { cwd: dir, timeout: 45_000 });
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(out).toEqual({ status: { status: 'ok', version: '1.0.0' }, missing: 'not_found', helpers: ['function', 'function'] });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /v1/_status', 'GET /v1/workflows/wf_missing']);
    expect(seen.every((s) => s.auth === 'Bearer lv_consumer')).toBe(true);
  });

  const typecheck = (project: string) =>
    run(bin('tsc'), ['-p', project], { cwd: dir, timeout: 55_000 }).then(
      () => ({ code: 0, out: '' }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );

  it('type-checks a consumer with tsc (and rejects misuse)', async () => {
    const result = await typecheck('tsconfig.json');
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  });

  it('type-checks a consumer under module/moduleResolution NodeNext', async () => {
    const result = await typecheck('tsconfig.nodenext.json');
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  });
});
