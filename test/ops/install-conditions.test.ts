/**
 * The server as operators install it: a data directory whose path quotes badly everywhere, odd
 * umasks. What the CLI creates there is for the server's user alone: the database holds webhook
 * signing secrets in clear, and was 0644 under the usual umask 022 (0777 directory under 000).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDb } from '../../src/db/knex.js';
import { mediaToolsProblem } from '../../src/media/preflight.js';
import { loadSigningSecret } from '../../src/storage/secret.js';
import { FileStorage } from '../../src/storage/storage.js';
import { runCli } from '../helpers/cli-run.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-install-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A directory name every quoting scheme (shell, ffmpeg, URL, CSV) has an opinion about. */
const HOSTILE = `d ata/it's "x" [1],%: é漢\\z`;

/** The real CLI started by /bin/sh after `prelude`, as an init script would start it. */
function cliInShell(prelude: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('/bin/sh', ['-c', `${prelude} && exec "$@"`, 'sh', process.execPath, '--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT, env: { PATH: process.env.PATH, DATABASE_URL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += String(d); });
  child.stderr.on('data', (d) => { stderr += String(d); });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const cliUnderUmask = (umask: string, args: string[], env: NodeJS.ProcessEnv) => cliInShell(`umask ${umask}`, args, env);
const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

describe('what the CLI creates in a new data directory', () => {
  it.each(['000', '022'])('is private under umask %s: directory 0700, database, secrets and backup 0600', { timeout: 120_000 }, async (umask) => {
    const base = path.join(scratch, `umask-${umask}`, HOSTILE);
    const dataDir = path.join(base, 'data');
    const env = { LAVENDLY_DATA_DIR: dataDir };
    const created = await cliUnderUmask(umask, ['accounts', 'create', '--name', 'Op', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const account = JSON.parse(created.stdout).account_id as string;
    const channel = await cliUnderUmask(umask, ['channels', 'connect', '--account', account, '--platform', 'local', '--name', 'L', '--json'], env);
    expect(channel.code, channel.stderr).toBe(0);
    const target = path.join(base, `a dir/with 'quote.sqlite`);
    fs.mkdirSync(path.dirname(target));
    const backup = await cliUnderUmask(umask, ['backup', '--to', target], env);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toContain(`wrote ${target}: `);

    expect({
      dir: mode(dataDir),
      db: mode(path.join(dataDir, 'lavendly.sqlite')),
      secrets: mode(path.join(dataDir, 'secrets')),
      credentials: mode(path.join(dataDir, 'secrets/credentials.key')),
      backup: mode(target),
    }).toEqual({ dir: '700', db: '600', secrets: '700', credentials: '600', backup: '600' });
  });

  it('the open database\'s -wal and -shm files take its mode', async () => {
    const dataDir = path.join(scratch, 'wal', HOSTILE);
    const db = createDb({ databaseUrl: null, dataDir });
    try {
      await db.raw('create table t (x integer)');
      await db('t').insert({ x: 1 });
      expect([mode(path.join(dataDir, 'lavendly.sqlite-wal')), mode(path.join(dataDir, 'lavendly.sqlite-shm'))]).toEqual(['600', '600']);
    } finally {
      await db.destroy();
    }
  });

  it('an existing directory and database keep the modes their operator gave them', async () => {
    const dataDir = path.join(scratch, 'shared', HOSTILE);
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o750 });
    fs.chmodSync(dataDir, 0o750);
    fs.writeFileSync(path.join(dataDir, 'lavendly.sqlite'), '', { mode: 0o640 });
    fs.chmodSync(path.join(dataDir, 'lavendly.sqlite'), 0o640);
    const db = createDb({ databaseUrl: null, dataDir });
    try {
      await db.raw('select 1');
    } finally {
      await db.destroy();
    }
    expect([mode(dataDir), mode(path.join(dataDir, 'lavendly.sqlite'))]).toEqual(['750', '640']);
  });
});

/**
 * Installed by root, run as another user: @ffprobe-installer's install script makes ffprobe
 * executable for its owner only, and the server started anyway; every generation then failed
 * three times (`setpriv: failed to execute ...ffprobe: Permission denied`, exit 126, taken for an
 * ffmpeg error) with the server's paths in the customer's error. A TMPDIR that does not exist
 * did the same (`ENOENT ... mkdtemp`). Both now stop `serve` and `worker` at start, in one line.
 */
describe('media tools the server cannot use', () => {
  const notExecutable = path.join(scratch, HOSTILE, 'ffprobe');
  fs.mkdirSync(path.dirname(notExecutable), { recursive: true });
  fs.writeFileSync(notExecutable, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  const env = (extra: Record<string, string>) => ({
    PATH: process.env.PATH, LAVENDLY_DATA_DIR: path.join(scratch, 'tools', HOSTILE), DATABASE_URL: '', HOST: '127.0.0.1', PORT: '0', ...extra,
  });

  it.each([['serve'], ['worker']])('%s refuses to start with an ffprobe it cannot run', async (command) => {
    const r = await runCli([command], env({ FFPROBE_PATH: notExecutable }));
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([
      `lavendly: error: ffprobe ${notExecutable} cannot be run: it is not executable by this user (uid ${process.getuid!()}; mode 644, owner uid ${process.getuid!()}); make it executable (chmod a+x) or set FFPROBE_PATH`,
    ]);
  });

  it('serve refuses to start with an ffmpeg that is not there', async () => {
    const missing = await runCli(['serve'], env({ FFMPEG_PATH: '/nonexistent/ffmpeg' }));
    expect([missing.code, missing.lines]).toEqual([1, ['lavendly: error: ffmpeg /nonexistent/ffmpeg cannot be run: ENOENT; set FFMPEG_PATH to the ffmpeg to use']]);
  });

  // In-process: under the CLI's tsx loader, tsx itself creates a missing TMPDIR for its cache.
  it('a TMPDIR that is not there, or is a file, is named', () => {
    const saved = process.env.TMPDIR;
    const file = path.join(scratch, HOSTILE, 'a file');
    fs.writeFileSync(file, '');
    try {
      for (const [tmp, code] of [[path.join(scratch, HOSTILE, 'no such tmp'), 'ENOENT'], [file, 'ENOTDIR']] as const) {
        process.env.TMPDIR = tmp;
        expect(mediaToolsProblem()).toBe(`the temporary directory ${tmp} cannot be used (${code}): ffmpeg's working files go there; create it or set TMPDIR to a directory this user can write`);
      }
      process.env.TMPDIR = path.join(scratch, HOSTILE);
      expect(mediaToolsProblem()).toBeNull();
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });
});

/**
 * Node decodes the environment and argv as UTF-8, with U+FFFD for any other byte: a Latin-1
 * directory name (caf\xe9) made the server use another directory, silently (a new, empty
 * database), and `backup --to` wrote another file than the one named.
 */
describe('a path that is not UTF-8', () => {
  it('is refused in LAVENDLY_DATA_DIR and backup --to, creating nothing', async () => {
    const base = path.join(scratch, 'latin1');
    fs.mkdirSync(base);
    // printf's octal escape puts the raw byte 0xE9 into the variable and the argument.
    const latin1 = `export LAVENDLY_DATA_DIR="$(printf '%s/caf\\351' "$BASE")"`;
    const env = { BASE: base, LAVENDLY_DATA_DIR: path.join(base, 'utf8') };
    const r = await cliInShell(latin1, ['accounts', 'list'], env);
    expect([r.code, r.stdout, r.stderr]).toEqual([1, '',
      'lavendly: error: LAVENDLY_DATA_DIR is not valid UTF-8 (Node would open another path than the one named): rename it, or name it through a symlink with a UTF-8 name\n']);
    expect(fs.readdirSync(base)).toEqual([]);

    expect((await cliInShell('true', ['accounts', 'create', '--name', 'Op'], env)).code).toBe(0);
    const backup = await cliInShell('set -- "$@" "$(printf \'%s/caf\\351.sqlite\' "$BASE")"', ['backup', '--to'], env);
    expect(backup.code).toBe(2);
    expect(backup.stderr).toMatch(/^lavendly: error: --to is not valid UTF-8: name the file in UTF-8\n/);
    expect(fs.readdirSync(base)).toEqual(['utf8']);
  });
});

/**
 * `sudo lavendly channels connect ...` in the data directory of a server that runs as another
 * user left secrets/credentials.key to root (0600): the server then failed with EACCES on every
 * publication and channel. What root creates there now goes to the directory's owner.
 */
describe.runIf(process.getuid?.() === 0)('root running a command in the server user\'s data directory', () => {
  it('hands what it creates to that user', { timeout: 120_000 }, async () => {
    const NOBODY = 65534;
    const dataDir = path.join(scratch, 'owned', HOSTILE);
    fs.mkdirSync(dataDir, { recursive: true });
    fs.chownSync(dataDir, NOBODY, NOBODY);
    const env = { LAVENDLY_DATA_DIR: dataDir };
    const created = await cliInShell('true', ['accounts', 'create', '--name', 'Op', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const account = JSON.parse(created.stdout).account_id as string;
    const channel = await cliInShell('true', ['channels', 'connect', '--account', account, '--platform', 'local', '--name', 'L'], env);
    expect(channel.code, channel.stderr).toBe(0);
    await loadSigningSecret({ dataDir, signingSecret: null });
    const owners = ['lavendly.sqlite', 'secrets', 'secrets/credentials.key', 'signing-secret'].map((f) => [f, fs.statSync(path.join(dataDir, f)).uid]);
    expect(owners).toEqual(['lavendly.sqlite', 'secrets', 'secrets/credentials.key', 'signing-secret'].map((f) => [f, NOBODY]));
  });
});

/**
 * With LAVENDLY_DATA_DIR unset the data directory is ./data where the server was started; the
 * error said "LAVENDLY_DATA_DIR /opt/.../data cannot be used", naming a setting the operator never set.
 */
describe('the default data directory, when it cannot be used', () => {
  it('is named as the default under the current directory, with how to set LAVENDLY_DATA_DIR', async () => {
    const cwd = path.join(scratch, 'cwd', HOSTILE);
    fs.mkdirSync(cwd, { recursive: true });
    fs.writeFileSync(path.join(cwd, 'data'), ''); // in the way (as root, an unwritable cwd is no obstacle)
    const tsx = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
    const child = spawn(process.execPath, ['--import', tsx, path.join(ROOT, 'src/cli/main.ts'), 'accounts', 'create', '--name', 'Op'], {
      // tsx finds the project's tsconfig (its path aliases) from the cwd unless told.
      cwd, env: { PATH: process.env.PATH, DATABASE_URL: '', TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json') }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += String(d); });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`lavendly: error: the default data directory ./data under the current directory (${path.join(cwd, 'data')}) cannot be used: a file is in the way (it must be a directory). `
      + 'LAVENDLY_DATA_DIR is not set; set it to a directory this user can write (e.g. LAVENDLY_DATA_DIR=/var/lib/lavendly), or start from a directory where ./data can be created');
  });
});

describe('a public URL with a proxy prefix that needs escaping', () => {
  it('goes into signed links escaped, without a trailing slash', () => {
    const { publicBaseUrl } = loadConfig({ LAVENDLY_PUBLIC_URL: "https://media.example/lav é's [x]/" });
    expect(publicBaseUrl).toBe("https://media.example/lav%20%C3%A9's%20[x]");
    const storage = new FileStorage({ dataDir: path.join(scratch, 'links'), publicBaseUrl, secret: Buffer.alloc(32, 1) });
    const url = storage.signedUrl(storage.keyFor('acc_1', 'renders/rnd_1.mp4'));
    expect(new URL(url).href).toBe(url);
    expect(url.startsWith("https://media.example/lav%20%C3%A9's%20[x]/files/acc_1/renders/rnd_1.mp4?exp=")).toBe(true);
    expect(loadConfig({ LAVENDLY_PUBLIC_URL: 'http://localhost:8090' }).publicBaseUrl).toBe('http://localhost:8090');
  });
});
