// Error codes are declared once, in the spec's ErrorCode schema. The server's table is generated
// from it; this checks the generated table matches the spec and that every code the source
// throws (a quoted code as the first argument of `new ApiError` or `new DomainError`) is declared there.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { errorStatusByCode } from '../../generated/errors.gen.js';
import { ConflictError, errorClassByCode, IdempotencyError, ServerError } from '../../generated/sdk.gen.js';

const spec = parse(readFileSync('spec/openapi.yaml', 'utf8')) as any;
const declared = Object.fromEntries(
  (spec.components.schemas.ErrorCode.oneOf as { const: string; 'x-status': number }[]).map((m) => [m.const, m['x-status']]),
);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('ErrorCode', () => {
  it('the generated server table is the spec list, status for status', () => {
    expect({ ...errorStatusByCode }).toEqual(declared);
  });

  it('the SDK has a class for every code, by status unless x-sdk-error names another', () => {
    expect(Object.keys(errorClassByCode)).toEqual(Object.keys(declared));
    expect(errorClassByCode.workflow_busy).toBe(ConflictError);
    expect(errorClassByCode.upstream_error).toBe(ServerError);
    expect(errorClassByCode.invalid_idempotency_key).toBe(IdempotencyError);
  });

  it('every code thrown in src/, handlers/ and packages/mcp is declared in the spec', () => {
    const thrown = new Map<string, string>();
    const pattern = /new (?:ApiError|DomainError)\(\s*'([a-z_]+)'/g;
    for (const file of [...sourceFiles('src'), ...sourceFiles('handlers'), ...sourceFiles('packages/mcp/src')]) {
      for (const m of readFileSync(file, 'utf8').matchAll(pattern)) thrown.set(m[1]!, file);
    }
    expect(thrown.size).toBeGreaterThan(20);
    const undeclared = [...thrown].filter(([code]) => !(code in declared)).map(([code, file]) => `${code} (${file})`);
    expect(undeclared).toEqual([]);
  });
});
