// The error codes the SDKs generate classes from (`x-error-codes` on Error.code in the spec) are
// exactly the codes the server can send, with the same statuses (src/http/errors.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { statusByCode } from '../../src/http/errors.js';

const spec = parse(readFileSync('spec/openapi.yaml', 'utf8')) as any;

describe('x-error-codes', () => {
  it('declares every code the server sends, with its status, and no other', () => {
    const declared = spec.components.schemas.Error.properties.code['x-error-codes'] as Record<string, number>;
    expect(declared).toEqual({ ...statusByCode });
  });
});
