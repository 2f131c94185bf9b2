/**
 * `lavendly.config.json`: the generator's settings for a project, so `generate` needs no flags.
 * Flags given on the command line win over the file. Paths are relative to the file's folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const CONFIG_FILE = 'lavendly.config.json';

export interface ProjectConfig {
  spec?: string;
  out?: string;
  packages?: string;
  only?: string[];
  /** Folder of the hand-written handler modules: `generate` keeps a stub there for every operation. */
  handlers?: string;
  /** The handler context type: `{ "type": "AppContext", "from": "src/context.ts" }`. */
  context?: { type: string; from: string };
  /** Run Spectral before every generate (default true); the built-in checks always run. */
  spectral?: boolean;
}

const KEYS = new Set(['$schema', 'spec', 'out', 'packages', 'only', 'handlers', 'context', 'spectral']);

/** The config at `file` (or ./lavendly.config.json when present); {} when there is none. */
export function loadConfig(file?: string): { config: ProjectConfig; dir: string; file: string | null } {
  const chosen = file ?? (existsSync(CONFIG_FILE) ? CONFIG_FILE : null);
  if (!chosen) return { config: {}, dir: process.cwd(), file: null };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(chosen, 'utf8'));
  } catch (e) {
    throw new Error(`${chosen}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON (${(e as Error).message})`}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${chosen}: must be a JSON object`);
  const unknown = Object.keys(raw).filter((k) => !KEYS.has(k));
  if (unknown.length) throw new Error(`${chosen}: unknown key(s) ${unknown.join(', ')} (known: ${[...KEYS].filter((k) => k !== '$schema').join(', ')})`);
  const c = raw as ProjectConfig;
  const dir = path.dirname(path.resolve(chosen));
  const rel = (p: string | undefined) => (p === undefined ? undefined : path.relative(process.cwd(), path.resolve(dir, p)) || '.');
  for (const k of ['spec', 'out', 'packages', 'handlers'] as const) {
    if (c[k] !== undefined && typeof c[k] !== 'string') throw new Error(`${chosen}: "${k}" must be a string`);
  }
  if (c.only !== undefined && (!Array.isArray(c.only) || c.only.some((x) => typeof x !== 'string'))) throw new Error(`${chosen}: "only" must be an array of emitter names`);
  return {
    config: { ...c, spec: rel(c.spec), out: rel(c.out), packages: rel(c.packages), handlers: rel(c.handlers), ...(c.context ? { context: { type: c.context.type, from: rel(c.context.from)! } } : {}) },
    dir,
    file: chosen,
  };
}
