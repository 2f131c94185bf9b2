/**
 * One place reads the environment: src/config.ts (loadConfig) and the CLI entry that hands
 * `process.env` to it. Every other module gets its settings from the typed Config passed down.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');
const ALLOWED = new Set(['config.ts', path.join('cli', 'main.ts')]);

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|mts|cts|js|mjs)$/.test(entry.name) ? [full] : [];
  });
}

describe('environment access', () => {
  it('only src/config.ts and src/cli/main.ts mention process.env', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(50);
    const violations = files
      .filter((file) => !ALLOWED.has(path.relative(SRC, file)))
      .flatMap((file) => fs.readFileSync(file, 'utf8').split('\n')
        .map((line, i) => (/process\s*\.\s*env\b|process\s*\[\s*['"]env['"]\s*\]/.test(line) ? `${path.relative(SRC, file)}:${i + 1}: ${line.trim()}` : null))
        .filter((hit): hit is string => hit !== null));
    expect(violations, 'read settings in src/config.ts (loadConfig) and pass them down').toEqual([]);
  });

  it('the allowed files really are where the environment is read', () => {
    for (const file of ALLOWED) expect(fs.readFileSync(path.join(SRC, file), 'utf8')).toMatch(/process\.env/);
  });
});
