/**
 * bench/http.ts's command line: the flags (documented at the top of bench/http.ts), the settings
 * they make, and the environment the server processes read (bench/http-server.ts).
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import type { Client } from './http-requests.js';
import type { Level, Settings } from './http-session.js';
import { pinCores, type Op } from './http-targets.js';

export interface Options { settings: Settings; sessions: number; responseValidation: string; telemetry: string; sample: string }

/** A collector stand-in for the servers' spans: reads and drops each OTLP post. Never holds the process open. */
async function otlpSink(): Promise<string> {
  const sink = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('{}')); });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', () => resolve()));
  sink.unref();
  return `http://127.0.0.1:${(sink.address() as { port: number }).port}/v1/traces`;
}

export async function readOptions(): Promise<Options> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '2' }, concurrency: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '5' }, sessions: { type: 'string', default: '1' },
      max: { type: 'string', default: '20000' },
      'response-validation': { type: 'string', default: 'off' }, ops: { type: 'string', default: 'get,create' },
      control: { type: 'boolean', default: false }, references: { type: 'boolean', default: false }, pin: { type: 'string', default: 'on' },
      baseline: { type: 'string', default: 'auth-log' }, footprint: { type: 'string', default: 'same' },
      telemetry: { type: 'string', default: 'off' }, sample: { type: 'string', default: '1' },
      before: { type: 'string' }, 'rate-limit': { type: 'string', default: '1e9' }, client: { type: 'string', default: 'node' },
      load: { type: 'string', default: '0.5' }, rate: { type: 'string', default: '' },
      'open-rounds': { type: 'string' }, 'open-connections': { type: 'string', default: '0' },
    },
  });
  // Read by the server processes (bench/http-server.ts).
  process.env.BENCH_RESPONSE_VALIDATION = values['response-validation'];
  process.env.BENCH_BASELINE = values.baseline === 'plain' || values.baseline === 'full' ? values.baseline : 'auth-log';
  process.env.BENCH_TELEMETRY = values.telemetry;
  process.env.BENCH_TRACE_SAMPLE_RATIO = values.sample;
  if (values.telemetry === 'tracing' || values.telemetry === 'all') process.env.BENCH_OTLP_URL = await otlpSink();
  process.env.BENCH_SAME_FOOTPRINT = values.footprint === 'own' ? '0' : '1';
  process.env.BENCH_RATE_LIMIT = String(Number(values['rate-limit']));
  const clients = values.client.split(',').filter(Boolean) as Client[];
  if (!clients.length || clients.some((c) => c !== 'node' && c !== 'raw')) throw new Error(`--client must be node, raw or node,raw (got ${values.client})`);
  const levels: Level[] = [
    ...values.load.split(',').filter(Boolean).map((f) => ({ label: `${Number(f)}x`, fraction: Number(f) })),
    ...values.rate.split(',').filter(Boolean).map((r) => ({ label: `${Number(r)}/s`, rate: Number(r) })),
  ];
  if (levels.some((l) => !((l.fraction ?? l.rate)! > 0))) throw new Error(`--load takes fractions like 0.25,0.5 and --rate requests per second (got ${values.load} / ${values.rate})`);
  const settings: Settings = {
    seconds: Number(values.seconds), concurrency: Number(values.concurrency), rounds: Number(values.rounds),
    max: Number(values.max), ops: values.ops.split(',').filter((o): o is Op => o === 'get' || o === 'create'),
    // `--control` adds a second, identical bare server: its ratio to the first (ideally 1.00x)
    // shows how much of a ratio is this machine's noise.
    // `--references` adds minimal Koa and Fastify servers on one better-sqlite3 table: what a
    // request costs with nearly nothing but framework and driver, beside our own figure.
    contenders: ['full', ...(values.before ? ['before' as const] : []), ...(values.control ? ['control' as const] : []),
      ...(values.references ? ['koa-ref' as const, 'fastify-ref' as const] : [])],
    clients, beforeDir: values.before ?? null, pinning: values.pin !== 'off' ? pinCores() : null,
    levels, openRounds: Number(values['open-rounds'] ?? values.rounds), openConnections: Number(values['open-connections']),
  };
  return { settings, sessions: Number(values.sessions), responseValidation: values['response-validation'], telemetry: values.telemetry, sample: values.sample };
}
