// `lavendly channels connect`: an operator connects a channel; the credentials are sealed and
// never printed, not even when they are malformed.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { nowIso } from '../../src/db/knex.js';
import { listChannels, loadChannelForPublish } from '../../src/publish/index.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';

const TOKEN = 'act.tiktok-access-token-do-not-print';

describe.each(testDatabases())('lavendly channels connect (%s)', (kind) => {
  let fresh: FreshDb;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    fresh = await freshDb(kind);
    await fresh.db('accounts').insert({ id: 'acc_cli', name: 'CLI', created_at: nowIso() });
    env = { LAVENDLY_DATA_DIR: fresh.dataDir, DATABASE_URL: fresh.databaseUrl ?? '' };
  });
  afterEach(() => fresh.close());

  async function run(...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['channels', 'connect', ...args], { env, out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('connects local without credentials and others with a token or JSON, printing no secret', async () => {
    const local = await run('--account', 'acc_cli', '--platform', 'local', '--name', 'Review folder', '--json');
    expect(local.code).toBe(0);
    expect(JSON.parse(local.out)).toMatchObject({ platform: 'local', name: 'Review folder', account_id: 'acc_cli', id: expect.stringMatching(/^ch_/) });

    const tiktok = await run('--account', 'acc_cli', '--platform', 'tiktok', '--name', 'Clips', '--token', TOKEN);
    expect(tiktok.code).toBe(0);
    expect(tiktok.out).toMatch(/^channel ch_\S+ \(tiktok, "Clips"\) connected to acc_cli$/);

    const file = path.join(fresh.dataDir, 'yt.json');
    fs.writeFileSync(file, JSON.stringify({ refresh_token: `${TOKEN}-refresh`, client_id: 'cid', client_secret: `${TOKEN}-client` }));
    const yt = await run('--account', 'acc_cli', '--platform', 'youtube', '--name', 'Shop', '--credentials-file', file, '--json');
    expect(yt.code).toBe(0);
    for (const r of [local, tiktok, yt]) expect(r.out + r.err).not.toContain(TOKEN);

    const list = await listChannels(fresh.db, 'acc_cli');
    expect(list.data.map((c) => c.platform)).toEqual(['local', 'tiktok', 'youtube']);
    // The worker opens them with the data dir's key, as the CLI sealed them.
    const opened = await loadChannelForPublish(fresh.db, list.data[1]!.id, { dataDir: fresh.dataDir });
    expect(opened.credentials).toEqual({ access_token: TOKEN });
    const raw = await fresh.db('channels').pluck('credentials_sealed');
    expect(raw.join(' ')).not.toContain(TOKEN);
  });

  it('refuses bad input without echoing it', async () => {
    const badJson = await run('--account', 'acc_cli', '--platform', 'youtube', '--name', 'Shop', '--credentials', `{"access_token": "${TOKEN}"`);
    expect(badJson.code).toBe(2);
    expect(badJson.err).toContain('not valid JSON');
    expect(badJson.err).not.toContain(TOKEN);
    const noToken = await run('--account', 'acc_cli', '--platform', 'youtube', '--name', 'Shop');
    expect(noToken.code).toBe(2);
    const unknownPlatform = await run('--account', 'acc_cli', '--platform', 'myspace', '--name', 'Shop', '--token', TOKEN);
    expect(unknownPlatform.code).toBe(2);
    const noAccount = await run('--account', 'acc_nobody', '--platform', 'local', '--name', 'x');
    expect(noAccount.code).toBe(1);
    expect(noAccount.err).toContain('no account');
    const tokenless = await run('--account', 'acc_cli', '--platform', 'tiktok', '--name', 'x', '--credentials', '{"scope":"video.publish"}');
    expect(tokenless.code).toBe(1);
    for (const r of [badJson, noToken, unknownPlatform, noAccount, tokenless]) expect(r.out + r.err).not.toContain(TOKEN);
    expect((await listChannels(fresh.db, 'acc_cli')).connected).toBe(false);
  });
});
