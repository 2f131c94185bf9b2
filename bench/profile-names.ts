/** How bench/profile-summary.ts and bench/heap-summary.ts name a profile's frames: short paths, and the package or project folder a file belongs to. */

/** A frame's URL without the checkout's or node_modules' prefix. */
export function shortUrl(url: string): string {
  const i = url.indexOf('/node_modules/');
  if (i >= 0) return url.slice(i + 14);
  const j = url.search(/\/(src|handlers|generated|packages|bench)\//);
  return j >= 0 ? url.slice(j + 1) : url || '(native)';
}

/** The package (`koa`, `@koa/router`) or project folder (`src/http`) of a short URL; built-ins and `(native)` as they are. */
export function packageOf(short: string): string {
  if (short.startsWith('(')) return short;
  const depth = short.startsWith('@') || /^(src|handlers|generated|packages|bench)\//.test(short) ? 2 : 1;
  return short.split('/').slice(0, depth).join('/');
}

/** `name  file:line` of a frame (lines 1-based). */
export function frameKey(frame: { functionName: string; url: string; lineNumber: number }): string {
  return `${frame.functionName || '(anonymous)'}  ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}
