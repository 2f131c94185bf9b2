/**
 * The Python SDK (`lavendly`, packages/python) as its users get it: built into a wheel and
 * installed into a fresh venv outside the repository (./venv.ts), then checked there: mypy
 * --strict on the installed package and on typed consumers.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPythonSdk, type PythonSdk } from './venv.js';

const HERE = path.resolve('test/python');
let sdk: PythonSdk;

beforeAll(() => {
  sdk = buildPythonSdk();
}, 180_000);
afterAll(() => sdk?.remove());

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
