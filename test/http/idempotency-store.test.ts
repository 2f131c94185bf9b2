import { describe, expect, it } from 'vitest';
import { canonicalJson } from '@lavendly/framework';
import { SqlIdempotencyStore } from '../../src/http/idempotency-store.js';
import { freshDb, testDatabases } from '../helpers/db.js';

describe.each(testDatabases())('idempotency store on %s', (kind) => {
  it('one claim wins among many; a claim whose process died is taken over after its lease and half of one more', async () => {
    const fresh = await freshDb(kind);
    try {
      const store = new SqlIdempotencyStore(fresh.db, { windowS: 300, leaseS: 0.2 });
      const claims = await Promise.all(Array.from({ length: 20 }, () => store.claim('acc_1', 'op', 'k', 'h1')));
      expect(claims.filter((c) => c.kind === 'claimed')).toHaveLength(1);
      expect(claims.filter((c) => c.kind === 'in_progress')).toHaveLength(19);
      const first = claims.find((c) => c.kind === 'claimed') as { rowId: string; token: string };
      expect((await store.claim('acc_1', 'op', 'k', 'h2')).kind).toBe('reused');
      await new Promise((r) => setTimeout(r, 300));
      // Seen expired: taken over once it has stayed so, unrenewed, for half a lease.
      expect((await store.claim('acc_1', 'op', 'k', 'h1')).kind).toBe('in_progress');
      await new Promise((r) => setTimeout(r, 150));
      const taken = await store.claim('acc_1', 'op', 'k', 'h1');
      expect(taken.kind).toBe('claimed');
      // The dead process's late completion is refused; the new owner's is kept.
      expect(await store.complete(first.rowId, first.token, 201, {}, '{"late":true}')).toBe(false);
      const t = taken as { rowId: string; token: string };
      expect(await store.complete(t.rowId, t.token, 201, { 'content-type': 'application/json' }, '{"ok":true}')).toBe(true);
      expect(await store.claim('acc_1', 'op', 'k', 'h1')).toEqual({
        kind: 'replay', status: 201, headers: { 'content-type': 'application/json' }, body: '{"ok":true}',
      });
      // Scoped per account and per operation.
      expect((await store.claim('acc_2', 'op', 'k', 'h1')).kind).toBe('claimed');
      expect((await store.claim('acc_1', 'op2', 'k', 'h1')).kind).toBe('claimed');
    } finally {
      await fresh.close();
    }
  });

  it('canonical JSON ignores key order and whitespace but not values', () => {
    expect(canonicalJson(JSON.parse('{"b":1,"a":[1,{"d":2,"c":3}]}'))).toBe(canonicalJson({ a: [1, { c: 3, d: 2 }], b: 1 }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: '1' }));
  });
});
