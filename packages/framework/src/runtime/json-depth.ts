/**
 * The depth limit of JSON texts, apart from the body reader (which imports Koa) so that
 * @lavendly/mcp's stdio transport holds its messages to the same limit without the framework.
 */

/** Deeper documents are refused before parsing: nothing we accept nests this far, and recursion over them could exhaust the stack. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether `text` has more opening brackets than MAX_JSON_DEPTH at all, strings included: when it
 * has not, it cannot nest deeper (each level opens one), and the character-by-character scan of
 * nestingDepth is skipped. indexOf hops between brackets natively, so a body of long strings
 * costs a few calls, not a loop over every character.
 */
function mayNestTooDeep(text: string): boolean {
  let count = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++count > MAX_JSON_DEPTH) return true;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++count > MAX_JSON_DEPTH) return true;
  return false;
}

/** Largest bracket nesting of a JSON text, ignoring brackets inside strings (a linear scan). */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123 /* [ { */) {
      if (++depth > max) max = depth;
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}

/** Whether `text` nests deeper than MAX_JSON_DEPTH (brackets inside strings do not count). */
export function nestsTooDeep(text: string): boolean {
  return mayNestTooDeep(text) && nestingDepth(text) > MAX_JSON_DEPTH;
}
