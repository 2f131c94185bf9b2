// A full disk under PostgreSQL: the server answers its writes with SQLSTATE 53100 (disk_full,
// "could not extend file"), which answered 500. It is now 503 `unavailable` with Retry-After,
// reads keep working, and writes work again once space is freed. A private PostgreSQL runs with
// its data on a small real tmpfs. Needs root (and PostgreSQL's binaries).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper without types
import { startPostgres } from '../../scripts/pg.mjs';
import { createDb, migrate } from '../../src/db/knex.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { canMountTmpfs, mountTmpfs, TMPFS_SKIP_REASON, type Tmpfs } from '../helpers/tmpfs.js';

interface Cluster { url: string; stop(): void }

describe.skipIf(!canMountTmpfs)(`a full disk under PostgreSQL (${canMountTmpfs ? 'tmpfs' : TMPFS_SKIP_REASON})`, () => {
  let disk: Tmpfs;
  let pg: Cluster | null = null;
  let server: TestServer;
  let key: string;
  let reader: string;

  beforeAll(async () => {
    disk = mountTmpfs(96);
    const tmpdir = process.env.TMPDIR;
    process.env.TMPDIR = disk.dir; // where startPostgres makes its cluster
    try {
      pg = startPostgres();
    } finally {
      if (tmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmpdir;
    }
    if (!pg) throw new Error('no PostgreSQL binaries');
    const dataDir = fs.mkdtempSync(path.join(disk.dir, 'lvd-'));
    const db = createDb({ databaseUrl: pg.url, dataDir });
    await migrate(db);
    server = await startTestServer('postgres', {
      fresh: { db, kind: 'postgres', databaseUrl: pg.url, dataDir, async close() { await db.destroy(); } },
    });
    ({ key } = await server.account({ credits: 100 }));
    ({ key: reader } = await server.account());
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await server?.fresh.close();
    pg?.stop();
    disk?.unmount();
  });

  const create = (i: number) => call(`${server.base}/workflows`, {
    key, body: { name: `full ${i}`, description: 'd'.repeat(1900), shots: [{ prompt: `p ${i} ${'q'.repeat(900)}`, duration_s: 2 }] },
  });

  it('answers 503 with Retry-After while PostgreSQL cannot extend its files, and works once space is freed', async () => {
    disk.fill(0);
    let refused: Awaited<ReturnType<typeof create>> | null = null;
    for (let i = 0; i < 2000 && !refused; i++) {
      const res = await create(i);
      if (res.status !== 201) refused = res;
    }
    expect(refused?.status, refused?.text).toBe(503);
    expect(refused!.headers.get('retry-after')).toBe('30');
    expect(refused!.json.error.code).toBe('unavailable');
    expect(server.logs.some((l) => l.msg === 'internal error')).toBe(false);
    const read = await call(`${server.base}/workflows?limit=1`, { key: reader });
    expect(read.status, read.text).toBe(200);
    disk.free();
    const again = await create(-1);
    expect(again.status, again.text).toBe(201);
  }, 60_000);
});
