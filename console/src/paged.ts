import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from './api.js';

export interface ApiPage<T> { data: T[]; has_more: boolean; next_cursor: string | null }

export interface PagedList<T> {
  /** Every row loaded so far, newest first; undefined until the first page answers. */
  rows: T[] | undefined;
  error: string | null;
  loading: boolean;
  /** A 'Show more' is under way (a reload while polling is not: the button does not flicker). */
  loadingMore: boolean;
  hasMore: boolean;
  /** Loads the page after the last one shown (the API's cursor). */
  more: () => Promise<void>;
  /**
   * Loads the first page again (after an action, or while polling) without dropping later pages.
   * Resolves to the error it shows, if any, so a poller can back off (null when it loaded).
   */
  reload: () => Promise<unknown>;
}

/** Rows of `first`, then the rows of `then` that `first` does not hold (matched by id). */
function merge<T extends { id: string }>(first: T[], then: T[]): T[] {
  const ids = new Set(first.map((r) => r.id));
  return [...first, ...then.filter((r) => !ids.has(r.id))];
}

/**
 * A list the API pages with a cursor, shown a page at a time behind a 'Show more' button. A reload
 * asks for the first page only: its rows replace those shown, the older pages already loaded stay
 * (a keyset cursor stays valid), so polling a list costs one request however far it was opened.
 */
export function usePagedList<T extends { id: string }>(fetchPage: (cursor: string | null) => PromiseLike<ApiPage<T>>, deps: unknown[] = []): PagedList<T> {
  const [rows, setRows] = useState<T[] | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [next, setNext] = useState<{ hasMore: boolean; cursor: string | null }>({ hasMore: false, cursor: null });
  const extended = useRef(false); // pages beyond the first are shown: their cursor, not the first page's, comes next
  const live = useRef(true);
  useEffect(() => () => { live.current = false; }, []);

  const load = async (cursor: string | null): Promise<unknown> => {
    setLoading(true);
    if (cursor) setLoadingMore(true);
    try {
      const page = await fetchPage(cursor);
      if (!live.current) return null;
      if (cursor) {
        extended.current = true;
        setRows((prev) => merge(prev ?? [], page.data));
      } else {
        setRows((prev) => (extended.current && prev ? merge(page.data, prev) : page.data));
      }
      if (cursor || !extended.current) setNext({ hasMore: page.has_more, cursor: page.next_cursor });
      setError(null);
      return null;
    } catch (err) {
      if (live.current) setError(describeError(err));
      return err;
    } finally {
      if (live.current) {
        setLoading(false);
        if (cursor) setLoadingMore(false);
      }
    }
  };
  const reload = useCallback(() => load(null), deps);
  useEffect(() => {
    extended.current = false;
    void reload();
  }, [reload]);
  return { rows, error, loading, loadingMore, hasMore: next.hasMore, more: async () => { await load(next.cursor); }, reload };
}
