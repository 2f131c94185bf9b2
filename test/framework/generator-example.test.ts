/**
 * The framework's own example, examples/petstore, as its designer changes it: an operation added to
 * its spec makes `generate` insert exactly one typed stub into handlers/pets.ts, every line already
 * there byte-identical, and the app still type-checks. Run on a copy, through the CLI in process.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../generator/program.js';
import { ROOT, scratchDir } from '../generator/helpers.js';
import { spawnSync } from 'node:child_process';

describe('examples/petstore: adding an operation to its spec', () => {
  it('generate inserts one stub into handlers/pets.ts and leaves every existing line byte-identical', { timeout: 300_000 }, async () => {
    const app = scratchDir('petstore-example');
    cpSync(path.join(ROOT, 'examples', 'petstore'), app, { recursive: true });
    const config = path.relative(ROOT, path.join(app, 'lavendly.config.json'));
    const handlers = path.join(app, 'handlers', 'pets.ts');
    const before = readFileSync(handlers, 'utf8');
    // Regenerated where the copy lives (the banners name the spec's path); every handler is there already.
    expect(await runCli(['generate', '--config', config, '--no-spectral'])).toBe(0);
    expect(readFileSync(handlers, 'utf8')).toBe(before);

    const specFile = path.join(app, 'openapi.yaml');
    const doc = parse(readFileSync(specFile, 'utf8'));
    doc.paths['/pets/{petId}'].patch = {
      operationId: 'renamePet',
      tags: ['pets'],
      summary: 'Rename a pet',
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } } } } },
      responses: { '200': { description: 'The pet', content: { 'application/json': { schema: { $ref: '#/components/schemas/Pet' } } } }, '404': { $ref: '#/components/responses/Error' } },
    };
    writeFileSync(specFile, stringify(doc));

    expect(await runCli(['generate', '--config', config, '--no-spectral'])).toBe(0);
    const after = readFileSync(handlers, 'utf8');
    // Every line of `before` is in `after`, unchanged and in order; what is new is the stub (and the
    // import its body needs, on a line of its own: extending the existing import would edit a line).
    const added: string[] = [];
    const old = before.split('\n');
    let i = 0;
    for (const line of after.split('\n')) {
      if (i < old.length && line === old[i]) i++;
      else added.push(line);
    }
    expect(i).toBe(old.length);
    expect(added.filter((l) => /^import /.test(l))).toEqual(["import { NotImplementedError } from '@lavendly/framework';"]);
    const stub = added.filter((l) => !/^import /.test(l)).join('\n');
    expect(stub.match(/async \w+\(/g)).toEqual(['async renamePet(']);
    expect(stub).toContain('async renamePet(input: T.RenamePetInput, ctx: PetContext): Promise<T.RenamePetResult> {');

    // The app with its new stub type-checks (the repo's compiler options and @lavendly/framework path).
    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ extends: path.join(ROOT, 'tsconfig.json'), include: ['**/*.ts'], exclude: [] }));
    const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', app], { encoding: 'utf8', cwd: ROOT });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);

    // Nothing more to add: a second run leaves the module alone.
    expect(await runCli(['generate', '--config', config, '--no-spectral'])).toBe(0);
    expect(readFileSync(handlers, 'utf8')).toBe(after);
  });
});
