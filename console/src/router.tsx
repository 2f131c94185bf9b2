/** History-API routing: the server answers every console path with index.html (src/http/console.ts). */
import type { AnchorHTMLAttributes, ComponentChildren } from 'preact';
import { signal, useSignal } from './signal.js';

export const currentPath = signal(location.pathname + location.search);

let navigated = false;

/** Whether the app has changed pages in place since it loaded (the first page keeps the browser's own focus). */
export function hasNavigated(): boolean {
  return navigated;
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  navigated = true;
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  currentPath.set(to);
  window.scrollTo(0, 0);
}

addEventListener('popstate', () => {
  navigated = true;
  currentPath.set(location.pathname + location.search);
});

export function usePath(): { path: string; query: URLSearchParams } {
  const full = useSignal(currentPath);
  const [path, search = ''] = full.split('?');
  return { path: path!, query: new URLSearchParams(search) };
}

/** An <a> that navigates without reloading (modified clicks still open tabs). */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren }) {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.href);
  };
  return <a {...props} onClick={onClick} />;
}

/**
 * Matches `/workflows/:id` style patterns; resolves to the named parts or null. A part that is not
 * valid percent-encoding (`/workflows/%E0`, from a mangled link) matches nothing: decoding it
 * would throw and leave a blank page.
 */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const a = path.replace(/\/+$/, '').split('/');
  if (p.length !== a.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i]!.startsWith(':')) {
      try {
        out[p[i]!.slice(1)] = decodeURIComponent(a[i]!);
      } catch {
        return null;
      }
    } else if (p[i] !== a[i]) return null;
  }
  return out;
}
