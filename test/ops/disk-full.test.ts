// A full disk is the server's trouble, not the client's: every request that needs to write
// answers 503 `unavailable` with Retry-After (as for a database or store outage), nothing is
// half-written, and the same requests work once space is freed. Each test puts the data dir
// (SQLite file, staging, media) on a small real tmpfs and fills it with a file. Needs root.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, migrate } from '../../src/db/knex.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { canMountTmpfs, mountTmpfs, TMPFS_SKIP_REASON, type Tmpfs } from '../helpers/tmpfs.js';

describe.skipIf(!canMountTmpfs)(`a full disk under the SQLite data dir (${canMountTmpfs ? 'tmpfs' : TMPFS_SKIP_REASON})`, () => {
  let disk: Tmpfs;
  let server: TestServer;
  let key: string;
  let reader: string;

  beforeAll(async () => {
    disk = mountTmpfs(8);
    const dataDir = path.join(disk.dir, 'data');
    fs.mkdirSync(dataDir);
    const db = createDb({ databaseUrl: null, dataDir });
    await migrate(db);
    server = await startTestServer('sqlite', {
      fresh: { db, kind: 'sqlite', databaseUrl: null, dataDir, async close() { await db.destroy(); } },
    });
    ({ key } = await server.account({ credits: 100 }));
    // A key never used: its first request needs a statement of the shared rate limit (no lease yet).
    ({ key: reader } = await server.account());
  });

  afterAll(async () => {
    await server?.close();
    await server?.fresh.close();
    disk?.unmount();
  });

  const create = (i: number) => call(`${server.base}/workflows`, {
    key, body: { name: `full ${i}`, description: 'd'.repeat(1900), shots: [{ prompt: `p ${i} ${'q'.repeat(900)}`, duration_s: 2 }] },
  });

  it('answers 503 with Retry-After while SQLite cannot grow, keeps every row whole, and works again once space is freed', async () => {
    disk.fill(0);
    // The WAL reuses its pages for a while; a few hundred creates outgrow it.
    const created: string[] = [];
    let refused: Awaited<ReturnType<typeof create>> | null = null;
    for (let i = 0; i < 400 && !refused; i++) {
      const res = await create(i);
      if (res.status === 201) created.push(res.json.id);
      else refused = res;
    }
    expect(refused?.status, refused?.text).toBe(503);
    expect(refused!.headers.get('retry-after')).toBe('30');
    expect(refused!.json.error.code).toBe('unavailable');
    expect(refused!.json.error.message).toMatch(/out of disk space/);
    expect(refused!.json.error.message).not.toContain(disk.dir);
    expect(server.logs.some((l) => l.msg === 'disk full' && l.level === 40)).toBe(true);
    expect(server.logs.some((l) => l.msg === 'internal error')).toBe(false);
    // Reads need no space: the rate limit counts in memory while its buckets cannot be written.
    const read = await call(`${server.base}/workflows?limit=1`, { key: reader });
    expect(read.status, read.text).toBe(200);
    const badKey = await call(`${server.base}/workflows`, { key: 'lvd_not-a-key' });
    expect(badKey.status, badKey.text).toBe(401);

    disk.free();
    const again = await create(999);
    expect(again.status, again.text).toBe(201);
    created.push(again.json.id);
    const rows = await server.fresh.db('workflows').whereIn('id', created).count<{ n: number }[]>({ n: '*' });
    expect(Number(rows[0]!.n)).toBe(created.length);
    const check = new Database(path.join(server.fresh.dataDir, 'lavendly.sqlite'), { readonly: true });
    try {
      expect(check.pragma('integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    } finally {
      check.close();
    }
  });
});
