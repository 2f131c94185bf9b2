/**
 * Tracing off costs nothing: with no OTLP endpoint configured, starting telemetry loads no
 * OpenTelemetry SDK module and the app gets no extra layer when metrics are off too. Checked in a
 * child process, whose module cache is its own (the SDK packages are CommonJS, so they would show
 * in require.cache once loaded).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';

const script = `
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { loadConfig } from './src/config.ts';
import { createDb } from './src/db/knex.ts';
import { createLogger } from './src/http/logging.ts';
import { startTelemetry } from './src/telemetry/index.ts';
const require = createRequire(import.meta.url);
const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const db = createDb({ databaseUrl: null, dataDir: process.env.DIR });
const loaded = () => Object.keys(require.cache).filter((k) => k.includes('@opentelemetry/sdk-trace') || k.includes('@opentelemetry/exporter')).length;
const out = {};
for (const [name, env] of [['metrics', {}], ['none', { LAVENDLY_METRICS: 'off' }], ['tracing', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }]]) {
  const t = await startTelemetry(loadConfig(env), { db, logger });
  out[name] = { sdkModules: loaded(), layer: t.layer !== null, tracing: t.tracing !== null };
  await t.shutdown();
}
await db.destroy();
console.log(JSON.stringify(out));
`;

describe('telemetry off', () => {
  it('loads no OpenTelemetry SDK code until tracing is configured', () => {
    const dir = `${process.env.TMPDIR ?? '/tmp'}/lavendly-telemetry-off-${process.pid}`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(), env: { ...process.env, DIR: dir }, encoding: 'utf8', timeout: 60_000,
    });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.metrics).toEqual({ sdkModules: 0, layer: true, tracing: false });
    expect(out.none).toEqual({ sdkModules: 0, layer: false, tracing: false });
    expect(out.tracing.sdkModules).toBeGreaterThan(0);
    expect(out.tracing).toMatchObject({ layer: true, tracing: true });
  });
});
