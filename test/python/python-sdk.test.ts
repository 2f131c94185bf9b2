/**
 * The Python SDK (`lavendly`, packages/python) as its users get it: built into a wheel and
 * installed into a fresh venv outside the repository (./venv.ts), then checked there: mypy
 * --strict on the installed package and on typed consumers, and pytest (test_*.py beside this
 * file) against a Prism mock of the spec.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/cli/commands/worker.js';
import { createLogger } from '../../src/http/logging.js';
import { webhookOptionsFromEnv, type WebhookOptions } from '../../src/webhooks/index.js';
import { deref, firstExample, loadSpec, specOperations, startPrism } from '../contract/prism.js';
import { freePort } from '../helpers/prism.js';
import { startTestServer } from '../helpers/server.js';
import { buildPythonSdk, type PythonSdk } from './venv.js';
import { generationFromEnv, withWorkerEnv } from '../helpers/config.js';

const HERE = path.resolve('test/python');
let sdk: PythonSdk;

beforeAll(() => {
  sdk = buildPythonSdk();
}, 180_000);
afterAll(() => sdk?.remove());

/** pytest in the venv, from the venv's directory (so nothing of the checkout is importable). */
async function pytest(file: string, env: Record<string, string>, timeoutMs = 120_000) {
  const r = await sdk.runAsync(['-m', 'pytest', '-q', '-p', 'no:cacheprovider', path.join(HERE, file)], { env, cwd: sdk.dir, timeoutMs });
  return { ...r, output: `${r.stdout}\n${r.stderr}` };
}

/**
 * A proxy in front of `upstream` that lets the first POST /v1/workflows reach the server, then
 * drops the connection instead of passing the answer on (a response lost on the way back).
 */
async function droppingProxy(upstream: string) {
  const seen: { method: string; path: string; key: string | undefined; dropped: boolean }[] = [];
  let dropped = false;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>;
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const answer = await fetch(upstream + req.url, { method: req.method, headers, body });
      const text = Buffer.from(await answer.arrayBuffer());
      const drop = !dropped && req.method === 'POST' && req.url === '/v1/workflows';
      seen.push({ method: req.method!, path: req.url!, key: req.headers['idempotency-key'] as string | undefined, dropped: drop });
      if (drop) {
        dropped = true;
        req.socket.destroy();
        return;
      }
      const out: Record<string, string> = {};
      answer.headers.forEach((v, k) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) out[k] = v;
      });
      res.writeHead(answer.status, out).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    seen,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Examples from the spec for the Python side: per operation its request and success examples. */
function prismFixtures(): string {
  const spec = loadSpec();
  const ops: Record<string, unknown> = {};
  for (const o of specOperations(spec)) {
    const status = Object.keys(o.op.responses).find((s) => s.startsWith('2'))!;
    const response = deref(spec, o.op.responses[status]);
    const request = firstExample(spec, deref(spec, o.op.requestBody)?.content?.['application/json']);
    ops[o.operationId] = {
      method: o.method,
      path: o.path,
      status,
      idempotent: o.op['x-idempotent'] === true,
      request: request ?? null,
      response: firstExample(spec, response?.content?.['application/json']) ?? null,
    };
  }
  const idSchemas = Object.keys(spec.components.schemas).filter((n) => /Id$/.test(n));
  const ids = Object.fromEntries(idSchemas.map((n) => [n, spec.components.schemas[n].examples?.[0]]));
  const file = path.join(sdk.dir, 'fixtures.json');
  writeFileSync(file, JSON.stringify({ ops, ids }));
  return file;
}

describe('the Python SDK, installed from its wheel', () => {
  it('sends a list in a form body as its key repeated, as form parsers read it', () => {
    // Twilio's CreateCall: StatusCallbackEvent went out as one field holding '["initiated","ringing"]'.
    const code = [
      'from lavendly._core import _encode_body',
      "op = {'method': 'post', 'path': '/calls', 'args': {}, 'body_mode': 'flat', 'body_required': True, 'content_type': 'application/x-www-form-urlencoded'}",
      "body, files = _encode_body(op, {'To': '+15550001', 'StatusCallbackEvent': ['initiated', 'ringing'], 'Timeout': 30, 'Record': None}, {})",
      'print(body.decode())',
    ].join('\n');
    const r = sdk.run(['-c', code], { cwd: HERE });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('To=%2B15550001&StatusCallbackEvent=initiated&StatusCallbackEvent=ringing&Timeout=30');
  });

  it('is imported from the venv, not from the checkout', () => {
    const r = sdk.run(['-c', 'import lavendly, sys; print(lavendly.__file__); print(lavendly.__version__)'], { cwd: HERE });
    expect(r.status, r.stderr).toBe(0);
    const [file] = r.stdout.trim().split('\n');
    expect(file!.startsWith(path.join(sdk.dir, 'venv'))).toBe(true);
    expect(path.basename(sdk.wheel)).toMatch(/^lavendly-1\.0\.0-py3-none-any\.whl$/);
  });

  it('passes mypy --strict, and so does a typed consumer; typing mistakes are caught', { timeout: 240_000 }, () => {
    // One cache for the three runs: the second and third only re-check the consumer.
    const mypy = (...args: string[]) =>
      sdk.run(['-m', 'mypy', '--strict', '--cache-dir', path.join(sdk.dir, 'mypy-cache'), ...args], { cwd: sdk.dir, timeoutMs: 200_000 });
    const pkg = mypy('-p', 'lavendly');
    expect(pkg.stdout + pkg.stderr).toMatch(/^Success: no issues found in \d+ source files/m);
    expect(pkg.status).toBe(0);
    const ok = mypy(path.join(HERE, 'consumer_ok.py'));
    expect(ok.stdout + ok.stderr).toMatch(/^Success/m);
    const bad = mypy(path.join(HERE, 'consumer_bad.py'));
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/consumer_bad\.py:5: error: Argument "name" to "create" of "WorkflowsResource" has incompatible type "int"/);
    expect(bad.stdout).toMatch(/consumer_bad\.py:6: error: .*"duration_s"/);
    expect(bad.stdout).toMatch(/consumer_bad\.py:7: error: TypedDict "Workflow" has no key "no_such_field"/);
  });

  it("the README's Python examples pass mypy --strict as users paste them", { timeout: 240_000 }, () => {
    const readme = readFileSync(path.resolve('README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## The Python SDK'), readme.indexOf('\n## ', readme.indexOf('## The Python SDK') + 1));
    const blocks = [...section.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    // What the snippets take from the text around them: a client, and a webhook's raw parts.
    const prelude = 'from lavendly import Lavendly\nclient = Lavendly()\nraw_body = b""\nheaders: dict[str, str] = {}\nsecret = ""\n';
    const files = blocks.map((code, i) => {
      const file = path.join(sdk.dir, `readme_example_${i}.py`);
      writeFileSync(file, prelude + code);
      return file;
    });
    const r = sdk.run(['-m', 'mypy', '--strict', '--cache-dir', path.join(sdk.dir, 'mypy-cache'), ...files], { cwd: sdk.dir, timeoutMs: 200_000 });
    expect(r.stdout + r.stderr).toMatch(/^Success/m);
  });
});

describe('the installed Python SDK against a Prism mock of the spec', () => {
  it('calls every operation once, pages, waits, and types errors (pytest test_prism.py)', { timeout: 240_000 }, async () => {
    const prism = await startPrism({ mock: true });
    try {
      const r = await pytest('test_prism.py', { LAVENDLY_PRISM_URL: prism.url, LAVENDLY_FIXTURES: prismFixtures() }, 200_000);
      expect(r.status, r.output + prism.output().slice(-3000)).toBe(0);
      expect(r.stdout).toMatch(/(\d+) passed/);
      expect(Number(/(\d+) passed/.exec(r.stdout)![1])).toBeGreaterThanOrEqual(47);
    } finally {
      await prism.stop();
    }
  });
});

describe('the installed Python SDK against a live server and its job worker', () => {
  it('flow, retried idempotent create, 429 waited out, webhook verified (pytest test_live.py); a reference sample runs', { timeout: 300_000 }, async () => {
    // 120 requests a minute per key: a burst runs out, and Retry-After is then about a second.
    const hookPort = await freePort();
    const env = { ...process.env, LAVENDLY_WEBHOOK_RETRY_SCHEDULE: '200ms,400ms,800ms,1s,2s', LAVENDLY_WORKER_POLL_MS: '20' };
    // Loopback receivers only by explicit test configuration: exactly the Python receiver's port.
    const webhooks: WebhookOptions = { ...webhookOptionsFromEnv(env), addressPolicy: { allowEndpoints: [`127.0.0.1:${hookPort}`] } };
    // Small clips keep generation and stitching quick.
    const generation = generationFromEnv({ ...env, LAVENDLY_CLIP_SHORT_SIDE: '180' });
    const server = await startTestServer('sqlite', { config: { rateLimitPerMinute: 120 }, services: { webhookOptions: webhooks, generation } });
    const worker = await startJobWorker({
      config: withWorkerEnv(server.config, env), logger: createLogger({ level: 'silent' }), db: server.fresh.db, composed: server,
    });
    const proxy = await droppingProxy(server.origin);
    try {
      const flow = await server.account({ credits: 100 });
      const limited = await server.account();
      const r = await pytest('test_live.py', {
        LAVENDLY_BASE_URL: server.base, LAVENDLY_API_KEY: flow.key, LAVENDLY_LIMITED_KEY: limited.key,
        LAVENDLY_PROXY_URL: proxy.url, LAVENDLY_HOOK_PORT: String(hookPort),
      }, 280_000);
      expect(r.status, r.output).toBe(0);
      expect(r.stdout).toMatch(/4 passed/);
      // The lost answer was retried once, with the key of the first attempt.
      const posts = proxy.seen.filter((s) => s.method === 'POST' && s.path === '/v1/workflows');
      expect(posts.map((p) => p.dropped)).toEqual([true, false]);
      expect(posts[0]!.key).toMatch(/\S/);
      expect(posts[1]!.key).toBe(posts[0]!.key);

      // The reference's Python sample for get_ledger runs as printed (only the URL pointed here).
      const served = await (await fetch(`${server.base}/openapi.json`)).json();
      const source: string = served.paths['/ledger'].get['x-codeSamples'].find((x: { label: string }) => x.label === 'Python').source;
      const run = await sdk.runAsync(['-c', source.split(served.servers[0].url).join(server.base)], { env: { LAVENDLY_API_KEY: flow.key } });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/'kind': 'grant'/);
    } finally {
      await proxy.close();
      await worker.stop({ abortAfterMs: 2_000 });
      await server.close();
    }
  });
});
