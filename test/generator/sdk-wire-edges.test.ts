/**
 * What the generated SDKs put on the wire and read from it at the edges (test/fixtures/specs/
 * wire-edges.yaml). Here the lint: a JSON body property named `__proto__`, which the server refuses.
 */
import { describe, expect, it } from 'vitest';
import { lintSpec } from '../../generator/lint.js';
import { SPECS } from './helpers.js';

const SPEC = `${SPECS}/wire-edges.yaml`;

describe('the generated SDKs at the wire\'s edges', () => {
  it('lint: a JSON body property named __proto__, which the server refuses, is named by its pointer', async () => {
    const findings = (await lintSpec(SPEC, { spectral: false })).filter((f) => f.rule === 'lavendly/reserved-body-key');
    expect(findings.map((f) => [f.severity, f.pointer])).toEqual([
      ['warning', '#/paths/~1proto-json/post/requestBody/content/application~1json/schema/properties/__proto__'],
    ]);
    expect(findings[0]!.message).toMatch(/reserved_key/);
  });
});
