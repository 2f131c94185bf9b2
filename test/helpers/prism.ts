/**
 * Prism (`@stoplight/prism-cli`) as a child process: `mock` answers from spec/openapi.yaml alone;
 * `proxy` forwards to a real server and checks every request and response against the spec. With
 * `--errors` a violation turns into an error response (request: 422, response: 500, both
 * `application/problem+json`) instead of a log line. Started on a free port, stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export const SPEC_FILE = 'spec/openapi.yaml';

export interface PrismProcess {
  /** `http://127.0.0.1:<port>`; spec paths go right after it (Prism drops the server's `/v1`). */
  url: string;
  /** Everything Prism printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `prism mock <spec>` or `prism proxy <spec> <upstream>`, with `--errors` (request and response
 * violations become error responses instead of log lines). Resolves once Prism listens.
 */
export async function startPrism(
  mode: { mock: true } | { proxy: string },
  options: { spec?: string; errors?: boolean; timeoutMs?: number } = {},
): Promise<PrismProcess> {
  const port = await freePort();
  const bin = path.resolve('node_modules/.bin/prism');
  const spec = options.spec ?? SPEC_FILE;
  const args = 'proxy' in mode ? ['proxy', spec, mode.proxy] : ['mock', spec];
  args.push('--port', String(port), '--host', '127.0.0.1');
  if (options.errors !== false) args.push('--errors');
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
  let log = '';
  const timeoutMs = options.timeoutMs ?? 50_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`prism did not start within ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    const collect = (chunk: Buffer) => {
      log += chunk.toString();
      if (/Prism is listening on/i.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`prism exited with ${code}:\n${log}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The validating proxy in front of `upstream` (e.g. `http://127.0.0.1:8090/v1`). */
export type PrismProxy = PrismProcess;
export function startPrismProxy(upstream: string, options: { spec?: string; errors?: boolean; timeoutMs?: number } = {}): Promise<PrismProxy> {
  return startPrism({ proxy: upstream }, options);
}

export interface PrismFinding {
  /** `response`: our server answered off-spec. `request`: Prism refused the request itself. */
  kind: 'response' | 'request';
  detail: string;
}

/** What Prism said about one exchange, or null when it passed cleanly. */
export function prismFinding(res: { status: number; headers: Headers; text: string }): PrismFinding | null {
  const header = res.headers.get('sl-violations');
  if (header) {
    let list: { location?: string[] }[] = [];
    try { list = JSON.parse(header); } catch { /* keep the raw text */ }
    const aboutResponse = !list.length || list.some((v) => v.location?.[0] === 'response');
    return { kind: aboutResponse ? 'response' : 'request', detail: header };
  }
  if ((res.headers.get('content-type') ?? '').includes('application/problem+json')) {
    return { kind: /#VIOLATIONS/.test(res.text) ? 'response' : 'request', detail: res.text };
  }
  return null;
}

type Call = (url: string, init?: any) => Promise<{ status: number; headers: Headers; text: string; json: any }>;

/**
 * Wraps a `call(url, init)` helper so requests go through Prism: a response our server gave
 * off-spec throws; a request Prism refuses on its own (it is invalid by the spec, which is what
 * the negative tests send) is re-sent straight to the server, so the test still sees our answer.
 * `seen` counts both, so a suite can assert that most of its traffic was really checked.
 */
export function throughPrism(prism: PrismProxy, directBase: string, call: Call) {
  const seen = { checked: 0, refusedByPrism: [] as string[] };
  const wrapped: Call = async (url, init) => {
    const res = await call(url, init);
    const finding = prismFinding(res);
    if (!finding) {
      seen.checked++;
      return res;
    }
    if (finding.kind === 'response') {
      throw new Error(`off-spec response for ${init?.method ?? 'GET'} ${url} (${res.status}): ${finding.detail}`);
    }
    seen.refusedByPrism.push(`${init?.method ?? (init?.body !== undefined ? 'POST' : 'GET')} ${url}`);
    return call(directBase + url.slice(prism.url.length), init);
  };
  return { call: wrapped, seen };
}
