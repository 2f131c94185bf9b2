/** The Python SDK's package name comes from info.title, and must be importable by name. */
import { describe, expect, it } from 'vitest';
import { buildIrFromText } from '../../generator/ir.js';
import { pythonPlan } from '../../generator/shared/python-plan.js';

const plan = (title: string) => pythonPlan(buildIrFromText(`openapi: 3.1.0\ninfo: { title: '${title}', version: '1' }\npaths: {}\n`, 'inline.yaml', '0'.repeat(64)));

describe('python package names', () => {
  it('are never a Python keyword, a standard library module or one of the SDK\'s dependencies', () => {
    expect(plan('import').packageName).toBe('import_sdk');
    expect(plan('From').packageName).toBe('from_sdk');
    expect(plan('JSON API').packageName).toBe('json_sdk');
    expect(plan('Email').packageName).toBe('email_sdk');
    expect(plan('HTTPX').packageName).toBe('httpx_sdk');
    expect(plan('Swagger Petstore').packageName).toBe('swaggerpetstore');
  });

  it('are valid project names for pip (PEP 508): no leading or trailing underscore, no leading digit', () => {
    for (const title of ['import', '3D Studio', '_private', 'Weather', '!!!', 'JSON API']) {
      expect(plan(title).packageName, title).toMatch(/^[a-z][a-z0-9_]*[a-z0-9]$/);
    }
    expect(plan('3D Studio').packageName).toBe('api_3dstudio');
  });
});
