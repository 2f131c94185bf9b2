/**
 * Cursor pagination: a promise of the first page that also iterates every item of every page.
 * Part of the SDK runtime (see index.ts): only web-standard globals (fetch, Web Crypto) and sibling files may be used.
 */
import { LavendlyError } from './errors.js';

export type PageItem<P> = P extends { data: (infer I)[] } ? I : P extends { data: readonly (infer I)[] } ? I : unknown;

/**
 * The first page when awaited; every item of every page when iterated with `for await`.
 * Requests are lazy: nothing is sent until the promise is awaited or the iteration starts.
 */
export class PagePromise<Page, Item> implements PromiseLike<Page>, AsyncIterable<Item> {
  #first: Promise<Page> | undefined;
  constructor(private readonly fetchPage: (cursor: string | null) => Promise<unknown>) {}

  #firstPage(): Promise<Page> {
    return (this.#first ??= this.fetchPage(null) as Promise<Page>);
  }

  then<A = Page, B = never>(onfulfilled?: ((value: Page) => A | PromiseLike<A>) | null, onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.#firstPage().then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<Page | B> {
    return this.#firstPage().catch(onrejected);
  }

  /** Every page, following `next_cursor` while `has_more`. */
  async *pages(): AsyncGenerator<Page, void, undefined> {
    let page = (await this.#firstPage()) as { next_cursor?: unknown; has_more?: unknown };
    const seen = new Set<string>();
    for (;;) {
      yield page as Page;
      const next = page?.next_cursor;
      if (page?.has_more === false || typeof next !== 'string' || next === '') return;
      if (seen.has(next)) throw new LavendlyError(`the server returned cursor '${next}' twice`, { code: 'pagination_loop' });
      seen.add(next);
      page = (await this.fetchPage(next)) as typeof page;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    for await (const page of this.pages()) {
      const data = (page as { data?: unknown })?.data;
      if (Array.isArray(data)) yield* data as Item[];
    }
  }

  /** Collects every item (mind the size of the list). */
  async toArray(): Promise<Item[]> {
    const all: Item[] = [];
    for await (const item of this) all.push(item);
    return all;
  }
}
