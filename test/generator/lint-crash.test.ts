/**
 * A 3.0 document with a list of types (3.1's form) in a schema that also has properties named
 * `__proto__` and `constructor`: Spectral throws while locating its own finding ("Error running Nimma", no pointer)
 * and `generate` died with that one line. A Spectral crash is now a finding naming the node, and
 * the built-in checks report a 3.0 type list themselves.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintSpec, spectralFindings } from '../../generator/lint.js';
import { scratchDir } from './helpers.js';

const SPEC = `openapi: 3.0.3
info: { title: t, version: '1' }
paths: {}
components:
  schemas:
    Item:
      type: object
      properties:
        __proto__: { type: string }
        constructor: { type: integer }
        mixed: { type: [string, 'null'] }
`;

describe('a 3.0 spec with a list of types', () => {
  const file = path.join(scratchDir('lint-crash'), 'spec.yaml');
  writeFileSync(file, SPEC);

  it('Spectral crashing on it is one finding naming the node', { timeout: 120_000 }, async () => {
    const findings = await spectralFindings(file);
    expect(findings).toEqual([expect.objectContaining({ severity: 'error', rule: 'spectral', pointer: '#/components/schemas/Item/properties/mixed/type' })]);
    expect(findings[0]!.message).toMatch(/^Spectral could not check the spec: .*--no-spectral/);
  });

  it('the built-in checks name the node and say what 3.0 allows', { timeout: 120_000 }, async () => {
    for (const spectral of [false, true]) {
      const errors = (await lintSpec(file, { spectral })).filter((f) => f.severity === 'error');
      expect(errors).toEqual([
        expect.objectContaining({ rule: 'lavendly/schema-type', pointer: '#/components/schemas/Item/properties/mixed/type', message: expect.stringContaining('nullable: true') }),
      ]);
    }
  });
});
