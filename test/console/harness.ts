/**
 * The console's browser tests run against the server exactly as `lavendly serve` starts it (API,
 * job worker, the built console at /) on a fresh SQLite data dir, driven by Debian's Chromium
 * through playwright-core (no browser is downloaded). Screenshots go to test-artifacts/console/.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createLogger } from '../../src/http/logging.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'console');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Builds console/dist when it is missing (a checkout where `npm ci` ran has it already). */
export function ensureConsoleBuilt(): void {
  if (fs.existsSync(path.join(ROOT, 'console', 'dist', 'index.html'))) return;
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

export async function startConsoleServer(extraEnv: Record<string, string> = {}): Promise<ConsoleServer> {
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
  const served = await startServe({ env, out: () => {}, err: () => {} }, { port, host: '127.0.0.1', logger });
  return {
    origin: served.running.origin, dataDir, env, served, logs,
    async close() {
      await served.running.close(2_000);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
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

/** Whether the page scrolls sideways (the layout overflows the viewport). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

export type { Browser, BrowserContext, Page };
