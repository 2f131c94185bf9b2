import type { PagedList } from '../paged.js';

/** The button under a paged list: there while the API says more rows follow. */
export function ShowMore(props: { list: PagedList<{ id: string }>; label: string }) {
  const { list } = props;
  if (!list.hasMore) return null;
  return (
    <button type="button" class="secondary" disabled={list.loadingMore} onClick={() => void list.more()}>
      {list.loadingMore ? 'Loading…' : props.label}
    </button>
  );
}
