/**
 * The services handlers reach through `ctx.services` are one typed object built at start-up by the
 * composition root (src/app/compose.ts): no index signature, no field typed `unknown`, no lazy
 * look-up by name (`serviceOf`). Checked on the declaration (parsed by the TypeScript compiler),
 * by tsc (the expectTypeOf lines), and by building the app over a real SQLite database.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { compose, composeWorker, type Composition } from '../../src/app/compose.js';
import { loadConfig } from '../../src/config.js';
import type { GenerationService } from '../../src/generation/index.js';
import type { Services } from '../../src/http/context.js';
import { createLogger } from '../../src/http/logging.js';
import { freshDb, type FreshDb } from '../helpers/db.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CONTEXT = path.join(ROOT, 'src/http/context.ts');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(full) : /\.(c|m)?ts$/.test(e.name) ? [full] : [];
  });
}

/** The Services interface declaration, parsed by the TypeScript compiler. */
function servicesDeclaration(): ts.InterfaceDeclaration {
  const file = ts.createSourceFile(CONTEXT, fs.readFileSync(CONTEXT, 'utf8'), ts.ScriptTarget.ES2022, true);
  const decl = file.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'Services');
  if (!decl) throw new Error('src/http/context.ts declares no Services interface');
  return decl;
}

describe('typed services', () => {
  it('no module looks a service up by name', () => {
    const files = [...sourceFiles(path.join(ROOT, 'src')), ...sourceFiles(path.join(ROOT, 'handlers'))];
    expect(files.length).toBeGreaterThan(50);
    const hits = files.flatMap((file) => fs.readFileSync(file, 'utf8').split('\n')
      .map((line, i) => (/\bserviceOf\b|\[\s*name\s*:\s*string\s*\]\s*:\s*unknown/.test(line) ? `${path.relative(ROOT, file)}:${i + 1}` : null))
      .filter((hit): hit is string => hit !== null));
    expect(hits).toEqual([]);
  });

  it('Services has no index signature and no field typed unknown or any', () => {
    const decl = servicesDeclaration();
    expect(decl.members.filter(ts.isIndexSignatureDeclaration).map((m) => m.getText())).toEqual([]);
    expect(decl.heritageClauses ?? []).toEqual([]);
    const fields = decl.members.filter(ts.isPropertySignature);
    expect(fields.map((f) => f.name.getText())).toEqual(expect.arrayContaining(['accounts', 'generation', 'storage', 'webhookOptions', 'keyUse']));
    const loose = fields
      .filter((f) => !f.type || f.type.kind === ts.SyntaxKind.UnknownKeyword || f.type.kind === ts.SyntaxKind.AnyKeyword)
      .map((f) => f.name.getText());
    expect(loose).toEqual([]);
    expect(fields.find((f) => f.name.getText() === 'generation')?.type?.getText()).toBe('GenerationService');
  });

  it('handlers see typed services (checked by tsc)', () => {
    expectTypeOf<Services['generation']>().toEqualTypeOf<GenerationService>();
    // With an index signature, any string would be a key of Services.
    expectTypeOf<string extends keyof Services ? true : false>().toEqualTypeOf<false>();
  });
});

describe('the composition root', () => {
  let fresh: FreshDb;
  let composed: Composition;
  const logger = createLogger({ level: 'silent' });

  beforeAll(async () => {
    fresh = await freshDb('sqlite');
    const config = { ...loadConfig({}), dataDir: fresh.dataDir, signingSecret: 'test-signing-secret' };
    composed = await compose({ config, db: fresh.db, logger }, { assetsConfig: { addressPolicy: { allowEndpoints: ['127.0.0.1:9'] } } });
  });
  afterAll(async () => {
    await fresh?.close();
  });

  it('builds every service at start-up, none left to first use', () => {
    const missing = Object.entries(composed.services).filter(([, value]) => value === undefined || value === null).map(([name]) => name);
    expect(missing).toEqual([]);
    expect(Object.keys(composed.services).sort()).toEqual([
      'accounts', 'assetTransfers', 'assetsConfig', 'consoleAuth', 'cursorSecret',
      'generation', 'keyUse', 'oauthProviders', 'providers', 'publish', 'storage', 'webhookOptions',
    ].sort());
  });

  it('an override replaces that one service; the rest come from the config', () => {
    expect(composed.services.assetsConfig.addressPolicy?.allowEndpoints).toEqual(['127.0.0.1:9']);
    expect(composed.services.webhookOptions).toEqual(loadConfig({}).webhooks);
  });

  it('assembles a handler for every tag and a job handler for every job type', () => {
    expect(Object.keys(composed.handlers).sort()).toEqual([
      'assets', 'audio', 'generate', 'keys', 'ledger', 'publish', 'renders', 'review', 'telemetry', 'webhooks', 'workflows',
    ]);
    expect(Object.keys(composed.jobHandlers).sort()).toEqual(['generation.scene', 'publication.run', 'render.run', 'webhook.deliver', 'workflow.remove_files']);
  });

  it('a standalone worker gets the same job types without a database', async () => {
    const config = { ...loadConfig({}), dataDir: fresh.dataDir, signingSecret: 'test-signing-secret' };
    const worker = await composeWorker({ config, logger });
    expect(Object.keys(worker.jobHandlers).sort()).toEqual(Object.keys(composed.jobHandlers).sort());
  });
});
