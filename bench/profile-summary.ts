/**
 * Summarises a V8 CPU profile (BENCH_PROFILE=1 writes them to tmp/bench-prof): self time by
 * function and by file, and the inclusive time of the project's own functions, as shares of the
 * profile's busy time (idle and GC shown apart).
 *
 *   npx tsx bench/profile-summary.ts tmp/bench-prof/full.cpuprofile [--top 40] [--match src/]
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { frameKey, packageOf, shortUrl } from './profile-names.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[] }

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, match: { type: 'string', default: '' } },
});
const top = Number(values.top);


for (const file of positionals) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  let idle = 0;
  let gc = 0;
  const fnSelf = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    const name = n.callFrame.functionName;
    if (name === '(idle)') { idle += t; continue; }
    if (name === '(garbage collector)') gc += t;
    const key = frameKey(n.callFrame);
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + t);
    const pkg = packageOf(shortUrl(n.callFrame.url));
    fileSelf.set(pkg, (fileSelf.get(pkg) ?? 0) + t);
    // Inclusive: each distinct frame on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const c = byId.get(cur)!;
      const k = frameKey(c.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + t);
    }
  }
  const busy = total - idle;
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
  console.log(`\n== ${file}: busy ${(busy / 1e3).toFixed(0)} ms, idle ${(idle / 1e3).toFixed(0)} ms, GC ${pct(gc)} of busy`);
  const show = (title: string, m: Map<string, number>, filter: (k: string) => boolean = () => true) => {
    console.log(`-- ${title}`);
    for (const [k, t] of [...m].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${k}`);
  };
  show('self time by package / file', fileSelf);
  show('self time by function', fnSelf);
  show('inclusive time, project code', inclusive, (k) => values.match ? k.includes(values.match) : /\s(src|handlers|generated|packages)\//.test(k));
}
