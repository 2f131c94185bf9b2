/**
 * Run as `node --expose-gc --import tsx gc-timeout-child.ts <url>` by timeouts.test.ts: one JSON call
 * to a URL whose answer stalls after its headers, with the garbage collector running all the
 * while. Prints what happened as one JSON line. (Node 20's AbortSignal.any lost its timeout to a
 * collection, so such a call hung forever.)
 */
import { ProviderClient } from '../../src/providers/http.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const outer = new AbortController(); // a job's signal, as the worker passes one
const client = new ProviderClient({ provider: 'test:gc', headers: {}, secrets: [], timeoutMs: 500, retries: 0 });
const started = Date.now();
const collect = setInterval(gc, 20);
const hung = setTimeout(() => {
  console.log(JSON.stringify({ outcome: 'hung', ms: Date.now() - started }));
  process.exit(0);
}, 6000);
try {
  await client.json(process.argv[2]!, { signal: outer.signal });
  console.log(JSON.stringify({ outcome: 'answered', ms: Date.now() - started }));
} catch (err) {
  console.log(JSON.stringify({ outcome: 'failed', ms: Date.now() - started, code: (err as { code?: string }).code, message: (err as Error).message }));
}
clearInterval(collect);
clearTimeout(hung);
