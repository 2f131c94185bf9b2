/**
 * The console's browser tests run against the server exactly as `lavendly serve` starts it (API,
 * job worker, the built console at /) on a fresh SQLite data dir, driven by Debian's Chromium
 * through playwright-core (no browser is downloaded). Screenshots go to test-artifacts/console/.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createLogger } from '../../src/http/logging.js';
import type { Services } from '../../src/http/context.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'console');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Newest modification time of the files under `dir` (0 when there are none). */
function newest(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return Math.max(0, ...fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile()).map((e) => fs.statSync(path.join(e.parentPath, e.name)).mtimeMs));
}

/** Builds console/dist when it is missing or older than the console's sources (or the generated SDK). */
export function ensureConsoleBuilt(): void {
  const built = path.join(ROOT, 'console', 'dist', 'index.html');
  const sources = Math.max(newest(path.join(ROOT, 'console', 'src')), fs.statSync(path.join(ROOT, 'generated', 'sdk.gen.ts')).mtimeMs,
    fs.statSync(path.join(ROOT, 'console', 'index.html')).mtimeMs);
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= sources) return;
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-console.mjs')], { cwd: ROOT, stdio: 'inherit' });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export type Served = Awaited<ReturnType<typeof import('../../src/cli/commands/serve.js').startServe>>;

export interface ConsoleServer {
  origin: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  served: Served;
  logs: string[];
  close(): Promise<void>;
}

/**
 * `services` replaces configured services (a test sets the webhook address policy there: loopback
 * receivers are allowed in code only, never from the environment).
 */
export async function startConsoleServer(opts: { env?: Record<string, string>; services?: Partial<Services> } = {}): Promise<ConsoleServer> {
  const extraEnv = opts.env ?? {};
  ensureConsoleBuilt();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-console-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LAVENDLY_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LAVENDLY_PUBLIC_URL: `http://127.0.0.1:${port}`,
    LAVENDLY_RESPONSE_VALIDATION: 'throw',
    ...extraEnv,
  };
  delete env.DATABASE_URL;
  const logs: string[] = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } }) });
  const { startServe } = await import('../../src/cli/commands/serve.js');
  const served = await startServe({ env, out: () => {}, err: () => {} }, { port, host: '127.0.0.1', logger, services: opts.services });
  return {
    origin: served.running.origin, dataDir, env, served, logs,
    async close() {
      await served.running.close(2_000);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Calls the server's API with a key, as a script beside the browser would (to set up data). */
export async function apiCall(origin: string, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${origin}/v1${path}`, {
    method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/**
 * An account with a console user, and a phone-sized Chromium page signed in as that user: its
 * dialogs (confirms) are accepted and its uncaught errors collected in `pageErrors`.
 */
export async function signedInConsole(server: ConsoleServer, user: { account: string; email: string; password: string }) {
  const { account, apiKey } = await server.served.ctx.services.accounts.createAccount({ name: user.account, credits: 100 });
  const made = await createUser(server.env, account.id, user.email, user.password);
  if (made.code !== 0) throw new Error(`users create failed: ${made.output}`);
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  page.on('dialog', (d) => void d.accept());
  await signInAs(page, server.origin, user.email, user.password);
  return { apiKey: apiKey.key, accountId: account.id, browser, page, pageErrors };
}

/** Signs in through the sign-in page and waits for the workflow list. */
export async function signInAs(page: Page, origin: string, email: string, password: string): Promise<void> {
  await page.goto(`${origin}/sign-in`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/workflows$/);
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
}

/** A screenshot of the whole page under test-artifacts/console/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** axe-core in the page: the serious and critical violations (rule id, impact, first target). */
export async function axeViolations(page: Page): Promise<string[]> {
  const source = fs.readFileSync(path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  // Evaluated through CDP, which page CSP does not govern (a <script> tag would be refused).
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

/**
 * How far the page scrolls sideways (0 when the layout fits the viewport), with the outermost
 * elements that stick out past the right edge when it does (for the failure message).
 */
export async function horizontalOverflow(page: Page): Promise<{ px: number; culprits: string[] }> {
  return page.evaluate(() => {
    const root = document.documentElement;
    const px = root.scrollWidth - root.clientWidth;
    const culprits: string[] = [];
    if (px > 0) {
      for (const el of Array.from(document.body.querySelectorAll('*'))) {
        if (el.getBoundingClientRect().right > root.clientWidth + 1 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > root.clientWidth + 1)) {
          culprits.push(`${el.tagName.toLowerCase()}.${el.className}`);
        }
      }
    }
    return { px, culprits: culprits.slice(0, 5) };
  });
}

export type { Browser,  Page };

/** A real PNG (an RGB gradient, `size` px square, unfiltered rows) built with zlib, for uploads. */
export function pngBytes(size: number): Buffer {
  const { crc32, deflateSync } = zlib;
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = Buffer.alloc(size * (1 + size * 3));
  for (let y = 0; y < size; y++) {
    const at = y * (1 + size * 3);
    for (let x = 0; x < size; x++) {
      // Noise keeps the file from compressing to nothing, so the upload takes a few progress events.
      rows[at + 1 + x * 3] = (x * 7 + y) & 255;
      rows[at + 2 + x * 3] = (Math.random() * 256) | 0;
      rows[at + 3 + x * 3] = (y * 5) & 255;
    }
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** `lavendly users create --account ID --email E`, the password on standard input. */
export function createUser(env: NodeJS.ProcessEnv, accountId: string, email: string, password: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'users', 'create', '--account', accountId, '--email', email], {
    cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += String(d); });
  child.stderr.on('data', (d) => { output += String(d); });
  child.stdin.end(`${password}\n`);
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.on('close', (code) => { clearTimeout(timer); resolve({ code, output }); }));
}

/** A local webhook receiver answering 200; `requests` grows with each delivery. */
export async function webhookReceiver(): Promise<{ url: string; hostPort: string; requests: { headers: http.IncomingHttpHeaders; body: string }[]; close(): Promise<void> }> {
  const requests: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += String(d); });
    req.on('end', () => { requests.push({ headers: req.headers, body }); res.writeHead(200).end('ok'); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`, hostPort: `127.0.0.1:${port}`, requests,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
