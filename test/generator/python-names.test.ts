/** The Python SDK's package name comes from info.title, and must be importable by name. */
import { describe, expect, it } from 'vitest';
import { buildIrFromText } from '../../generator/ir.js';
import { pythonPlan } from '../../generator/shared/python-plan.js';

const plan = (title: string) => pythonPlan(buildIrFromText(`openapi: 3.1.0\ninfo: { title: '${title}', version: '1' }\npaths: {}\n`, 'inline.yaml', '0'.repeat(64)));

describe('python package names', () => {
  it('are never a Python keyword', () => {
    expect(plan('import').packageName).toBe('import_');
    expect(plan('From').packageName).toBe('from_');
    expect(plan('Swagger Petstore').packageName).toBe('swaggerpetstore');
  });
});
