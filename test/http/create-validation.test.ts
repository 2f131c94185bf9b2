/**
 * create_workflow's validation errors word for word (messages, paths, codes, order, status), so
 * that work on the request path (body reading, the stored-text check, the validators) cannot
 * change what clients see: they and the docs quote these texts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

const cases: [unknown, unknown[]][] = [
  [
    { name: '', shots: [{ prompt: 'x', duration_s: 11 }, { prompt: 'y', extra: 1, image_asset_id: 'bad' }], aspect_ratio: '4:3' },
    [
      { path: ['name'], message: 'Too small: expected string to have >=1 characters', code: 'too_small' },
      { path: ['aspect_ratio'], message: 'Invalid option: expected one of "16:9"|"9:16"|"1:1"', code: 'invalid_value' },
      { path: ['shots', 0, 'duration_s'], message: 'Too big: expected number to be <=10', code: 'too_big' },
      { path: ['shots', 1, 'image_asset_id'], message: 'Invalid string: must match pattern /^ast_[A-Za-z0-9_-]{1,64}$/u', code: 'invalid_format' },
      { path: ['shots', 1], message: 'Unrecognized key: "extra"', code: 'unrecognized_keys' },
    ],
  ],
  [{ name: 'x', shots: [] }, [{ path: ['shots'], message: 'Too small: expected array to have >=1 items', code: 'too_small' }]],
  [
    { shots: 'no' },
    [
      { path: ['name'], message: 'Invalid input: expected string, received undefined', code: 'invalid_type' },
      { path: ['shots'], message: 'Invalid input: expected array, received string', code: 'invalid_type' },
    ],
  ],
];

describe.each(testDatabases())('create_workflow validation errors on %s', (kind) => {
  let s: TestServer;
  let key: string;
  beforeAll(async () => {
    s = await startTestServer(kind);
    key = (await s.account()).key;
  });
  afterAll(async () => { await s.close(); });

  it('answers each bad body with the same 400 issues, in the same order', async () => {
    for (const [body, issues] of cases) {
      const r = await call(`${s.base}/workflows`, { key, body });
      expect(r.status, r.text).toBe(400);
      expect(r.json.error.code).toBe('validation_error');
      expect(r.json.error.issues).toEqual({ body: issues });
    }
  });
});
