/**
 * Summarises a V8 sampling heap profile (BENCH_PROFILE=heap writes them to tmp/bench-prof):
 * bytes allocated by function (self) and by file, and, with `--requests N`, per request (N: the
 * requests the server answered while profiled; the bench prints the measured ones, and a server's
 * warm-up adds a few hundred).
 *
 *   npx tsx bench/heap-summary.ts tmp/bench-prof/full.heapprofile [--top 40] [--requests N]
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { frameKey, packageOf, shortUrl } from './profile-names.js';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, requests: { type: 'string', default: '0' } },
});
const top = Number(values.top);
const requests = Number(values.requests);


const fmt = (bytes: number) => (requests > 0 ? `${(bytes / requests).toFixed(0).padStart(8)} B/req` : `${(bytes / 1024).toFixed(0).padStart(8)} KiB`);

for (const file of positionals) {
  const { head } = JSON.parse(fs.readFileSync(file, 'utf8')) as { head: HeapNode };
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode) => {
    if (n.selfSize) {
      const key = frameKey(n.callFrame);
      byFn.set(key, (byFn.get(key) ?? 0) + n.selfSize);
      const pkg = packageOf(shortUrl(n.callFrame.url));
      byFile.set(pkg, (byFile.get(pkg) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c);
  };
  walk(head);
  const list = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([k, v]) => `${fmt(v)}  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`).join('\n');
  console.log(`${file}: ${fmt(total)} sampled in all\n\nby function (self):\n${list(byFn)}\n\nby file or package:\n${list(byFile)}\n`);
}
