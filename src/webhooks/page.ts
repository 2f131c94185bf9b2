import type { Knex } from 'knex';
import { ApiError } from '../http/errors.js';

export interface PageQuery {
  limit?: number;
  cursor?: string | null;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
  has_more: boolean;
}

/** Opaque to clients: the (created_at, id) of the last row of the previous page. */
function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) return value as [string, string];
  } catch {
    // fall through
  }
  throw new ApiError('invalid_cursor', 'The cursor is not one this list handed out; start again without it.');
}

/**
 * Newest first, keyset-paginated on (created_at, id) of `table`. `query` carries the filters and
 * the selected columns; rows must include created_at and id.
 */
export async function keysetPage<R extends { created_at: string; id: string }, T>(
  query: Knex.QueryBuilder,
  table: string,
  page: PageQuery,
  map: (row: R) => T,
): Promise<Page<T>> {
  const limit = Math.min(Math.max(Math.trunc(page.limit ?? 20), 1), 100);
  if (page.cursor) {
    const [createdAt, id] = decodeCursor(page.cursor);
    query.where((q) => {
      q.where(`${table}.created_at`, '<', createdAt).orWhere((q2) => {
        q2.where(`${table}.created_at`, '=', createdAt).andWhere(`${table}.id`, '<', id);
      });
    });
  }
  const rows = (await query.orderBy([
    { column: `${table}.created_at`, order: 'desc' },
    { column: `${table}.id`, order: 'desc' },
  ]).limit(limit + 1)) as R[];
  const hasMore = rows.length > limit;
  const kept = rows.slice(0, limit);
  const last = kept[kept.length - 1];
  return {
    data: kept.map(map),
    next_cursor: hasMore && last ? encodeCursor(last.created_at, last.id) : null,
    has_more: hasMore,
  };
}
