// compose.yaml cannot be run here (no Docker engine), so what can be checked without one is:
// the file parses, it runs two API processes and three workers beside PostgreSQL and an object
// store, no volume is shared between Lavendly processes, and the environment it gives them is
// what the config loader reads and accepts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  volumes?: string[];
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
  configs?: Array<{ source: string; target: string }>;
}

const compose = parse(fs.readFileSync(path.join(root, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { content: string }>;
};
const services = compose.services;
const lavendly = Object.entries(services).filter(([, s]) => s.image === 'lavendly:local');
const running = (cmd: string) => lavendly.filter(([, s]) => JSON.stringify(s.command) === JSON.stringify([cmd]));

/** Compose's interpolation of `${VAR:-default}`, `${VAR:?error}`, `${VAR}` and `$$`, from `vars`. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (all, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (all === '$$') return '$';
    const set = vars[name!];
    if (set) return set;
    if (op === '-') return arg!;
    throw new Error(`compose would stop: ${name} is unset (${arg ?? ''})`);
  });
}

const operator = { LAVENDLY_SIGNING_SECRET: 'a-long-random-signing-secret', LAVENDLY_STORE_PASSWORD: 'store-password-123' };
const envOf = (s: Service) => Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), operator)]));

/** Every TypeScript file under src/, concatenated: where a setting's name must appear to be read. */
function sourceText(dir = path.join(root, 'src')): string {
  return fs.readdirSync(dir, { withFileTypes: true }).map((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceText(p);
    return e.name.endsWith('.ts') ? fs.readFileSync(p, 'utf8') : '';
  }).join('\n');
}

describe('compose.yaml', () => {
  it('runs two API processes, three workers, PostgreSQL and an object store', () => {
    expect(running('serve').map(([name]) => name).sort()).toEqual(['api-1', 'api-2']);
    const workers = running('worker').reduce((n, [, s]) => n + (s.deploy?.replicas ?? 1), 0);
    expect(workers).toBe(3);
    expect(services.db!.image).toMatch(/^postgres:/);
    expect(services.store!.image).toMatch(/^minio\/minio:/);
    // The APIs leave the jobs to the workers, and trust the one balancer in front of them.
    for (const [, s] of running('serve')) {
      expect(s.environment!.LAVENDLY_SERVE_WORKER).toBe('0');
      expect(s.environment!.LAVENDLY_TRUST_PROXY).toBe('1');
    }
    const upstreams = [...compose.configs!.balancer!.content.matchAll(/server (\S+):8090;/g)].map((m) => m[1]);
    expect(upstreams.sort()).toEqual(['api-1', 'api-2']);
  });

  it('opens no MCP sessions behind a balancer that routes each request to either API', () => {
    // nginx cannot route by an Mcp-Session-Id the API chose, so a session made on api-1 would
    // answer 404 from api-2, and an MCP client that declares elicitation could not even connect
    // (test/scale/mcp-round-robin.test.ts).
    const balancer = compose.configs!.balancer!.content;
    expect(balancer).not.toMatch(/\b(sticky|hash|ip_hash)\b/);
    for (const [name, s] of running('serve')) expect(s.environment!.LAVENDLY_MCP_SESSIONS, name).toBe('off');
  });

  it('shares no volume between Lavendly processes: media go to the store', () => {
    for (const [name, s] of lavendly) expect(s.volumes ?? [], `${name} mounts a volume`).toEqual([]);
    // Named volumes each belong to one service (the database's, the store's).
    const users = new Map<string, string[]>();
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        users.set(source, [...(users.get(source) ?? []), name]);
      }
    }
    expect(Object.fromEntries(users)).toEqual({ pgdata: ['db'], objects: ['store'] });
  });

  it('gives every Lavendly process settings the config loader reads and accepts', () => {
    const source = sourceText();
    for (const [name, s] of lavendly) {
      const env = envOf(s);
      for (const key of Object.keys(env)) {
        const read = source.includes(`env.${key}`) || source.includes(`'${key}'`);
        expect(read, `${name}: ${key} is not read anywhere in src/`).toBe(true);
      }
      const config = loadConfig(env);
      expect(config.databaseUrl).toBe('postgres://lavendly:lavendly@db:5432/lavendly');
      expect(config.signingSecret).toBe(operator.LAVENDLY_SIGNING_SECRET);
      expect(config.storage).toMatchObject({
        driver: 's3', bucket: 'lavendly', endpoint: 'http://store:9000', publicEndpoint: 'http://localhost:9000',
        accessKeyId: 'lavendly', secretAccessKey: operator.LAVENDLY_STORE_PASSWORD,
      });
    }
  });

  it('creates the bucket the processes use, with the credentials they sign with', () => {
    const bucket = services.bucket!;
    const store = envOf(services.store!);
    expect(envOf(bucket)).toEqual(store);
    expect(String(bucket.command)).toContain('mc mb --ignore-existing store/lavendly');
    for (const [, s] of lavendly) {
      const env = envOf(s);
      expect([env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY]).toEqual([store.MINIO_ROOT_USER, store.MINIO_ROOT_PASSWORD]);
      expect(s.depends_on?.bucket?.condition).toBe('service_completed_successfully');
    }
  });

  it('stops with a clear message when a required secret is missing', () => {
    const api = services['api-1']!;
    expect(() => Object.values(api.environment!).map((v) => interpolate(String(v), {})))
      .toThrow(/LAVENDLY_STORE_PASSWORD|LAVENDLY_SIGNING_SECRET/);
  });
});
