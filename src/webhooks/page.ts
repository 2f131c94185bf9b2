import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { paginate, type Page } from '../db/pagination.js';

export type { Page };

export interface PageQuery {
  limit?: number;
  cursor?: string | null;
  /**
   * The key list cursors are signed with (`ctx.services.cursorSecret` in handlers). Without it a
   * per-process key is used, whose cursors do not outlive the process: fine for library callers.
   */
  cursorSecret?: string;
}

const processSecret = crypto.randomBytes(32).toString('base64url');

/**
 * Newest first, keyset-paginated on (created_at, id) of `table`, with signed cursors bound to
 * `scope` (the list and account they came from). `query` carries the filters and columns.
 */
export function keysetPage<R, T>(
  query: Knex.QueryBuilder,
  table: string,
  scope: string,
  page: PageQuery,
  map: (row: R) => T,
): Promise<Page<T>> {
  return paginate<Record<string, unknown>, T>(query, {
    limit: page.limit,
    cursor: page.cursor,
    secret: page.cursorSecret ?? processSecret,
    scope,
    keys: [{ column: `${table}.created_at` }, { column: `${table}.id` }],
    map: map as unknown as (row: Record<string, unknown>) => T,
  });
}
