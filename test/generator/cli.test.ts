/** The CLI as a user runs it: exit codes, what it prints, and no stack trace for a bad spec. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, SPECS, scratchDir } from './helpers.js';

const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const cli = (...args: string[]) => spawnSync(process.execPath, [TSX, 'generator/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8' });

describe('generator CLI', () => {
  it('prints each file written and each emitter\'s time; --check passes, then fails on drift', { timeout: 120_000 }, () => {
    const out = path.relative(ROOT, scratchDir('cli'));
    const run = cli('--spec', `${SPECS}/petstore.yaml`, '--out', out);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`wrote     ${out}/types.gen.ts`);
    expect(run.stdout).toMatch(/ir \d+ms, types \d+ms, validators \d+ms, routes \d+ms, errors \d+ms, handlers \d+ms, catalog \d+ms, mcp \d+ms, sdk \d+ms, python \d+ms, samples \d+ms; total \d+ms/);

    expect(cli('--spec', `${SPECS}/petstore.yaml`, '--out', out, '--check').status).toBe(0);
    writeFileSync(path.join(ROOT, out, 'routes.gen.ts'), '// hand edit\n');
    const check = cli('--spec', `${SPECS}/petstore.yaml`, '--out', out, '--check');
    expect(check.status).toBe(1);
    expect(check.stderr).toContain('routes.gen.ts');
    expect(check.stderr).toContain(`npm run generate -- --spec ${SPECS}/petstore.yaml --out ${out}`);
  });

  it('--only runs the named emitters', { timeout: 60_000 }, () => {
    const out = path.relative(ROOT, scratchDir('cli-only'));
    const run = cli('--spec', `${SPECS}/petstore.yaml`, '--out', out, '--only', 'types,handlers');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/ir \d+ms, types \d+ms, handlers \d+ms;/);
  });

  it('a bad spec: lint names each pointer, exit 1, no stack trace', { timeout: 60_000 }, () => {
    const dir = scratchDir('cli-bad');
    const spec = path.join(dir, 'bad.yaml');
    writeFileSync(spec, "openapi: 3.1.0\ninfo: { title: t, version: '1' }\npaths:\n  /pets:\n    get:\n      responses: [oops]\n");
    const run = cli('--spec', spec, '--out', path.join(dir, 'out'));
    expect(run.status).toBe(1);
    // Lint runs first: each finding on its own line with its pointer, then one line saying nothing was generated.
    expect(run.stderr).toContain('error: #/paths/~1pets/get/responses: "responses" property must be object. [oas3-schema]');
    expect(run.stderr.trim().split('\n').pop()).toMatch(/^error: .*bad\.yaml: 2 lint error\(s\); nothing generated$/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('a missing spec file is a one-line error too', { timeout: 60_000 }, () => {
    const run = cli('--spec', 'no/such/spec.yaml', '--out', 'tmp/never');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^error: .*no\/such\/spec\.yaml/);
  });
});
