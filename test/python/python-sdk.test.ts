/**
 * The Python SDK (`lavendly`, packages/python) as its users get it: built into a wheel and
 * installed into a fresh venv outside the repository (./venv.ts), then checked there: mypy
 * --strict on the installed package and on typed consumers, and pytest (test_*.py beside this
 * file) against a Prism mock of the spec.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deref, firstExample, loadSpec, specOperations, startPrism } from '../contract/prism.js';
import { buildPythonSdk, type PythonSdk } from './venv.js';

const HERE = path.resolve('test/python');
let sdk: PythonSdk;

beforeAll(() => {
  sdk = buildPythonSdk();
}, 180_000);
afterAll(() => sdk?.remove());

/** pytest in the venv, from the venv's directory (so nothing of the checkout is importable). */
function pytest(file: string, env: Record<string, string>, timeoutMs = 120_000) {
  const r = sdk.run(['-m', 'pytest', '-q', '-p', 'no:cacheprovider', path.join(HERE, file)], { env, cwd: sdk.dir, timeoutMs });
  return { ...r, output: `${r.stdout}\n${r.stderr}` };
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
});

describe('the installed Python SDK against a Prism mock of the spec', () => {
  it('calls every operation once, pages, waits, and types errors (pytest test_prism.py)', { timeout: 240_000 }, async () => {
    const prism = await startPrism({ mock: true });
    try {
      const r = pytest('test_prism.py', { LAVENDLY_PRISM_URL: prism.url, LAVENDLY_FIXTURES: prismFixtures() }, 200_000);
      expect(r.status, r.output + prism.output().slice(-3000)).toBe(0);
      expect(r.stdout).toMatch(/(\d+) passed/);
      expect(Number(/(\d+) passed/.exec(r.stdout)![1])).toBeGreaterThanOrEqual(47);
    } finally {
      await prism.stop();
    }
  });
});
