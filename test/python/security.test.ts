/**
 * The Python SDK generated from test/fixtures/specs/security.yaml sends each security scheme as
 * declared and only where required (pytest test_security.py, against the real listeners of
 * ../helpers/credential-echo.ts); then what the other origin was sent: nothing. The package is
 * generated into a scratch dir and imported from there by Debian's python (httpx, pytest).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CredentialEcho, startCredentialEcho } from '../helpers/credential-echo.js';
import { generateInto, SPECS, scratchDir } from '../generator/helpers.js';
import { SYSTEM_PYTHON } from './venv.js';

let root: string;
let echo: CredentialEcho;

beforeAll(async () => {
  root = scratchDir('python-security');
  await generateInto(`${SPECS}/security.yaml`, path.join(root, 'gen'), { only: ['python'], packages: path.join(root, 'packages') });
  echo = await startCredentialEcho();
}, 120_000);
afterAll(() => echo?.close());

function python(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(SYSTEM_PYTHON, args, {
      cwd: root, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: path.join(root, 'packages/python/src'), ...env }, timeout: 170_000,
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, output }));
  });
}

describe('the generated Python SDK sending credentials', () => {
  it('sends each operation what its requirement names, refuses breaking values, keeps keys to their origin (pytest test_security.py)', { timeout: 180_000 }, async () => {
    const r = await python(['-m', 'pytest', '-q', '-p', 'no:cacheprovider', path.resolve('test/python/test_security.py')], { VAULT_ECHO: JSON.stringify({ api: echo.api, elsewhere: echo.elsewhere, closed: echo.closed }) });
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/10 passed/);
    const none = { rawQuery: '', query: {}, authorization: null, apiKey: null, cookie: null };
    expect(echo.elsewhereSeen).toEqual([{ path: '/file', ...none }, { path: '/stolen', ...none }]);
  });

  it('types credentials by the spec\'s schemes: mypy --strict passes the package and catches a consumer\'s mistakes', { timeout: 240_000 }, async () => {
    writeFileSync(path.join(root, 'consumer.py'), [
      'from vault import BasicCredentials, Vault',
      'basic: BasicCredentials = {"username": "AC1", "password": "p"}',
      'ok = Vault(api_key="b", credentials={"ApiKeyHeader": "k", "ApiKeyQuery": "q", "basicAuth": basic})',
      'typo = Vault(credentials={"ApiKeyHeadr": "k"})',
      'wrong = Vault(credentials={"basicAuth": "AC1:p"})',
      '',
    ].join('\n'));
    // The package comes in through MYPYPATH as source: mypy reports its errors too.
    const r = await python(['-m', 'mypy', '--strict', '--cache-dir', path.join(root, 'mypy-cache'), path.join(root, 'consumer.py')], { MYPYPATH: path.join(root, 'packages/python/src') });
    const errors = r.output.split('\n').filter((l) => l.includes(': error:'));
    expect(errors.map((l) => path.basename(l.split(':')[0]!) + ':' + l.split(':')[1]), r.output).toEqual(['consumer.py:4', 'consumer.py:5']);
  });
});
