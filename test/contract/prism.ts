/**
 * Prism (`@stoplight/prism-cli`) as a child process for the contract tests: `mock` answers from
 * spec/openapi.yaml alone, `proxy` forwards to a real server and checks both directions against
 * the spec. Started on a free port, stopped by pid (never by name).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';

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

// ----------------------------------------------------------------------------------------------
// The spec as plain data, for tables of operations and their examples.

export interface SpecOperation {
  operationId: string;
  method: string;
  /** `/workflows/{id}` */
  path: string;
  op: Record<string, any>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

export function loadSpec(file = SPEC_FILE): Record<string, any> {
  return parse(readFileSync(file, 'utf8'));
}

export function specOperations(spec: Record<string, any>): SpecOperation[] {
  const out: SpecOperation[] = [];
  for (const [p, item] of Object.entries<Record<string, any>>(spec.paths ?? {})) {
    for (const method of METHODS) if (item[method]) out.push({ operationId: item[method].operationId, method, path: p, op: item[method] });
  }
  return out;
}

/** Follows a local `$ref` (`#/components/...`). */
export function deref<T = any>(spec: Record<string, any>, node: any): T {
  let cur = node;
  for (let i = 0; cur && typeof cur === 'object' && typeof cur.$ref === 'string' && i < 10; i++) {
    cur = cur.$ref
      .slice(2)
      .split('/')
      .map((s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((o: any, k: string) => o?.[k], spec);
  }
  return cur as T;
}

/** The first example of a media type object (`example`, else the first of `examples`). */
export function firstExample(spec: Record<string, any>, media: Record<string, any> | undefined): unknown {
  if (!media) return undefined;
  if ('example' in media) return media.example;
  const first = Object.values<any>(media.examples ?? {})[0];
  return first === undefined ? undefined : deref(spec, first).value;
}

/** Matches a concrete request path against a spec path template. */
export function pathMatches(template: string, actual: string): boolean {
  const re = new RegExp('^' + template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+') + '$');
  return re.test(actual);
}
