/**
 * Does the open-loop generator (bench/load-generator.ts) keep its schedule on this machine? It
 * drives a trivial HTTP server (answers "ok" at once, in a child process on the servers' core)
 * at the given rates and prints, per rate, how late the generator's own sends went out (actual
 * send - scheduled: p50/p99/p99.9/max) and the latency it measured from the schedule. Nothing here
 * is our server: what it prints is the generator's own floor.
 *
 *   npx tsx bench/open-loop-check.ts [--rates 1000,2000,4000] [--seconds 3] [--rounds 2] [--client raw|node] [--pin on|off]
 */
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { runQueueWaitMs } from './latency-probe.js';
import { LoadGenerator } from './open-loop.js';

const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.on('SIGINT', () => process.exit(0));
`;

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '1000,2000,4000' }, seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' }, client: { type: 'string', default: 'raw' }, pin: { type: 'string', default: 'on' },
  },
});
const cores = os.availableParallelism();
const pin = values.pin !== 'off' && cores >= 2 && spawnSync('taskset', ['-V']).status === 0
  ? { server: String(cores - 1), load: cores === 2 ? '0' : `0-${cores - 2}` } : null;
const command = [process.execPath, '-e', SERVER];
if (pin) command.unshift('taskset', '-c', pin.server);
const server = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
const port = Number(await new Promise<string>((resolve) => server.stdout!.once('data', (c: Buffer) => resolve(c.toString()))));
const generator = await LoadGenerator.start(pin?.load ?? null);
const q = (v: Float64Array, p: number) => v[Math.min(v.length - 1, Math.floor(v.length * p))]!;
const us = (x: number) => `${x.toFixed(0)} us`;
console.log(`open-loop generator check: ${values.client} client, ${pin ? `generator on core ${pin.load}, server on ${pin.server}` : 'not pinned'}, `
  + `${values.seconds} s x ${values.rounds} round(s) per rate; loadavg ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
try {
  for (const rate of values.rates.split(',').map(Number)) {
    for (let round = 0; round < Number(values.rounds); round++) {
      const wait0 = runQueueWaitMs(generator.pid);
      const run = await generator.run({ port, method: 'GET', path: '/', headers: {}, status: 200 }, values.client === 'node' ? 'node' : 'raw',
        { rate, seconds: Number(values.seconds), max: 1e6, connections: 16 });
      const wait1 = runQueueWaitMs(generator.pid);
      const late = run.lateUs.filter((x) => !Number.isNaN(x)).sort();
      const lat = run.latencyUs.slice().sort();
      const g = run.generator;
      console.log(`${String(rate).padStart(6)} req/s round ${round + 1}: sends late p50/p99/p99.9/max ${us(q(late, 0.5))} / ${us(q(late, 0.99))} / ${us(q(late, 0.999))} / ${us(q(late, 1))}`
        + ` (${late.length} sends, ${run.queued} waited for a connection); latency from the schedule p50/p99 ${us(q(lat, 0.5))} / ${us(q(lat, 0.99))};`
        + ` generator ${(100 * g.busy).toFixed(0)}% of a core, ${g.gcs} GC pauses (${g.gcMs.toFixed(1)} ms, longest ${g.gcMaxMs.toFixed(2)} ms), ${g.stalls} stalls over 0.2 ms (${g.stallMs.toFixed(1)} ms, longest ${g.longestStallMs.toFixed(2)}), `
        + `waited for a CPU ${wait0 === null || wait1 === null ? '?' : (wait1 - wait0).toFixed(1)} ms, ${(g.turns / run.seconds / 1000).toFixed(0)}k loop turns/s`);
    }
  }
} finally {
  await generator.close();
  server.kill('SIGINT');
}
