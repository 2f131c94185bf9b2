/**
 * An integer enum beyond 2^53 (an int64 code, a snowflake id): the YAML parser read
 * 9007199254740993 as 9007199254740992, and the generated validators, types and SDKs then accepted
 * only the neighbouring number, refusing the one the spec names. `generate` now refuses the spec
 * with a finding that names the value's place; values within 2^53 generate as before.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT, scratchDir } from './helpers.js';

const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');

const spec = (values: string) => `openapi: 3.1.0
info: { title: t, version: '1' }
paths:
  /codes:
    get:
      operationId: list_codes
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Code' }
components:
  schemas:
    Code:
      type: integer
      enum: [${values}]
    Pinned:
      const: 18014398509481985
`;

function generate(name: string, text: string) {
  const dir = scratchDir(name);
  const file = path.join(dir, 'spec.yaml');
  writeFileSync(file, text);
  return spawnSync(process.execPath, [TSX, 'generator/cli.ts', 'generate', '--spec', file, '--out', path.join(dir, 'out'), '--no-spectral'], { cwd: ROOT, encoding: 'utf8' });
}

describe('integers beyond 2^53 in enum and const', () => {
  it('are refused, each named by its pointer', { timeout: 120_000 }, () => {
    const run = generate('unsafe-integer', spec('1, 9007199254740993'));
    expect(run.status, run.stdout + run.stderr).not.toBe(0);
    expect(run.stderr).toContain('#/components/schemas/Code/enum/1');
    expect(run.stderr).toContain('#/components/schemas/Pinned/const');
    expect(run.stderr).toMatch(/beyond 2\^53/);
    expect(run.stderr).toContain('2 lint error(s); nothing generated');
  });

  it('the largest exact integer still generates', { timeout: 120_000 }, () => {
    const run = generate('safe-integer', spec('1, 9007199254740991').replace('18014398509481985', '-9007199254740991'));
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });
});
