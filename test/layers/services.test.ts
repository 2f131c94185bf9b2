/**
 * The services handlers reach through `ctx.services` are one typed object built at start-up by the
 * composition root (src/app/compose.ts): no index signature, no field typed `unknown`, no lazy
 * look-up by name (`serviceOf`). Checked with the TypeScript compiler on the real interface, and
 * by building the app over a real SQLite database.
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

/** The Services interface as the type checker sees it. */
function servicesType(): { checker: ts.TypeChecker; type: ts.Type } {
  const program = ts.createProgram([CONTEXT], {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true, skipLibCheck: true, noEmit: true, types: ['node'],
  });
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(CONTEXT)!;
  const decl = file.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'Services');
  if (!decl) throw new Error('src/http/context.ts declares no Services interface');
  return { checker, type: checker.getTypeAtLocation(decl.name) };
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
    const { checker, type } = servicesType();
    expect(checker.getIndexInfosOfType(type)).toEqual([]);
    const props = checker.getPropertiesOfType(type);
    expect(props.map((p) => p.name)).toEqual(expect.arrayContaining(['accounts', 'generation', 'storage', 'webhookOptions', 'keyUse']));
    const loose = props.filter((p) => {
      const t = checker.getTypeOfSymbol(p);
      return (t.flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) !== 0;
    }).map((p) => p.name);
    expect(loose).toEqual([]);
    expect(checker.typeToString(checker.getTypeOfSymbol(props.find((p) => p.name === 'generation')!))).toBe('GenerationService');
  }, 60_000);

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
    expect(Object.keys(composed.jobHandlers).sort()).toEqual(['generation.scene', 'publication.run', 'render.run', 'webhook.deliver']);
  });

  it('a standalone worker gets the same job types without a database', async () => {
    const config = { ...loadConfig({}), dataDir: fresh.dataDir, signingSecret: 'test-signing-secret' };
    const worker = await composeWorker({ config, logger });
    expect(Object.keys(worker.jobHandlers).sort()).toEqual(Object.keys(composed.jobHandlers).sort());
  });
});
