/**
 * Generation time, whole process, for our spec and GitHub's REST description: all seven artifacts
 * with our generator, and types alone with openapi-typescript as the baseline, in the same run.
 *
 *   npx tsx bench/generate.ts [--runs 3] [--no-github]
 *
 * Wall time is what a user waits; CPU time (user + system of the process) is printed too because on
 * a shared machine wall time also measures the neighbours. Per-emitter times come from the CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '..');
const WORK = path.join(ROOT, 'tmp', 'bench-generate');
const GITHUB = 'node_modules/@octokit/openapi/generated/api.github.com.json';
const OURS = 'spec/openapi.yaml';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, 'no-github': { type: 'boolean', default: false } } });
const runs = Math.max(1, Number(values.runs));

rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
// Preloaded into each measured process: reports its own CPU time when it exits.
const cpuReporter = path.join(WORK, 'cpu.cjs');
writeFileSync(cpuReporter, `process.on('exit', () => { const u = process.cpuUsage(); require('fs').writeFileSync(process.env.BENCH_CPU_FILE, String((u.user + u.system) / 1000)); });\n`);

interface Sample {
  wallMs: number;
  cpuMs: number;
  stdout: string;
}

function run(args: string[]): Sample {
  const cpuFile = path.join(WORK, `cpu-${process.hrtime.bigint()}.txt`);
  const env = { ...process.env, BENCH_CPU_FILE: cpuFile, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${cpuReporter}`.trim() };
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const wallMs = performance.now() - started;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return { wallMs, cpuMs: Number(readFileSync(cpuFile, 'utf8')), stdout: r.stdout };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function ours(spec: string, label: string): { wall: number; cpu: number; emitters: Map<string, number> } {
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    // `node --import tsx`: one process, what `npm run generate` runs minus npm itself, built-in lint
    // checks included. Without Spectral: its OpenAPI rules take minutes on GitHub's 13 MB description,
    // a cost of linting, not of generating; defaultGenerate() below measures it on ours, cold and cached.
    samples.push(run(['--import', 'tsx', 'generator/cli.ts', 'generate', '--no-spectral', '--spec', spec, '--out', path.relative(ROOT, path.join(WORK, label))]));
  }
  const emitters = new Map<string, number[]>();
  for (const s of samples) {
    const line = s.stdout.split('\n').find((l) => l.includes('; total '))!;
    for (const m of line.matchAll(/(\w+) (\d+)ms/g)) emitters.set(m[1]!, [...(emitters.get(m[1]!) ?? []), Number(m[2])]);
  }
  return {
    wall: median(samples.map((s) => s.wallMs)),
    cpu: median(samples.map((s) => s.cpuMs)),
    emitters: new Map([...emitters].filter(([k]) => k !== 'total').map(([k, v]) => [k, median(v)])),
  };
}

function openapiTypescript(spec: string, label: string): { wall: number; cpu: number } {
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    samples.push(run(['node_modules/openapi-typescript/bin/cli.js', spec, '-o', path.join(WORK, `${label}.openapi-typescript.ts`)]));
  }
  return { wall: median(samples.map((s) => s.wallMs)), cpu: median(samples.map((s) => s.cpuMs)) };
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function report(name: string, spec: string, label: string): { ratioWall: number; ratioCpu: number; wall: number } {
  const o = ours(spec, label);
  const b = openapiTypescript(spec, label);
  console.log(`\n${name} (${spec}), median of ${runs}, whole process`);
  console.log(`  lavendly, all artifacts      wall ${fmt(o.wall)}   cpu ${fmt(o.cpu)}`);
  console.log(`  openapi-typescript, types    wall ${fmt(b.wall)}   cpu ${fmt(b.cpu)}`);
  console.log(`  ratio                        wall ${(o.wall / b.wall).toFixed(2)}x   cpu ${(o.cpu / b.cpu).toFixed(2)}x`);
  console.log(`  per step (in-process ms): ${[...o.emitters].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return { ratioWall: o.wall / b.wall, ratioCpu: o.cpu / b.cpu, wall: o.wall };
}

report('Lavendly spec', OURS, 'lavendly');

/**
 * What `npm run generate` costs a user: the default command, built-in checks and Spectral included.
 * Cold: no cache (node_modules/.cache/lavendly-framework removed first), so the YAML is parsed and
 * Spectral runs, as after an edit of the spec. Warm: the spec unchanged since the last run, so the
 * parsed document and Spectral's findings come from the cache.
 */
function defaultGenerate(): void {
  const args = ['--import', 'tsx', 'generator/cli.ts', 'generate', '--spec', OURS, '--out', path.relative(ROOT, path.join(WORK, 'default'))];
  const cache = path.join(ROOT, 'node_modules', '.cache', 'lavendly-framework');
  const cold: Sample[] = [];
  const warm: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    rmSync(cache, { recursive: true, force: true });
    cold.push(run(args));
    warm.push(run(args));
  }
  console.log(`\nLavendly spec, default generate (built-in checks + Spectral), median of ${runs}, whole process`);
  console.log(`  cold cache (spec edited)     wall ${fmt(median(cold.map((s) => s.wallMs)))}   cpu ${fmt(median(cold.map((s) => s.cpuMs)))}`);
  const warmWall = median(warm.map((s) => s.wallMs));
  console.log(`  warm cache (spec unchanged)  wall ${fmt(warmWall)}   cpu ${fmt(median(warm.map((s) => s.cpuMs)))}`);
  console.log(`  target < 2 s (warm): ${warmWall < 2000 ? 'met' : 'NOT met'}`);
}
defaultGenerate();
if (!values['no-github']) {
  const gh = report("GitHub's REST description", GITHUB, 'github');
  console.log(`  target < 3x openapi-typescript: wall ${gh.ratioWall < 3 ? 'met' : 'NOT met'}, cpu ${gh.ratioCpu < 3 ? 'met' : 'NOT met'}`);
}
