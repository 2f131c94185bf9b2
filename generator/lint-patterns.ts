/**
 * `lavendly/backtracking-pattern` (a warning): a `pattern` that repeats a group which itself
 * repeats, as in `(a+)+` or `(\w*x?)*`, or that repeats a choice between branches one of which
 * starts the other, as in `(a|a)*` or `(a|ab)+`. JavaScript's regex engine backtracks: on a string
 * that almost matches, such a pattern tries every way of splitting it among the repetitions, so
 * 30 characters can take seconds, and every request's strings are matched on the event loop.
 * A heuristic over the pattern's text (escapes and character classes skipped): it may miss a
 * subtle case but names the classic shapes.
 */
import { pointerJoin } from './names.js';
import { isObject, type Json } from './spec-doc.js';
import type { LintFinding } from './lint.js';

/** Keys whose values are data, never schemas. */
const DATA_KEYS = new Set(['example', 'examples', 'default', 'enum', 'const']);

interface Group {
  /** Something inside repeats a varying number of times (`+`, `*`, `{1,64}`; not `{2}` or `?`). */
  repeats: boolean;
  /** The group's top-level branches as written. */
  branches: string[];
  /** Where its `(` is, and where its first branch starts. */
  open: number;
  start: number;
}

/** The quantifier at `i`: its length (0 when none allows more than one), and whether its count varies. */
function repeatAt(p: string, i: number): { length: number; varies: boolean } {
  const c = p[i];
  if (c === '*' || c === '+') return { length: 1, varies: true };
  const m = c === '{' ? /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i)) : null;
  if (!m) return { length: 0, varies: false };
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
  return { length: max > 1 ? m[0].length : 0, varies: max > 1 && max > min };
}

/** Why `pattern` can backtrack without bound, or null. */
export function backtrackingShape(pattern: string): string | null {
  const stack: Group[] = [{ repeats: false, branches: [], open: 0, start: 0 }];
  let branchStart = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') { i++; continue; }
    if (c === '[') {
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      continue;
    }
    if (c === '(') {
      const head = /^\(\?(?:[:=!]|<[=!]|<[A-Za-z_]\w*>)/.exec(pattern.slice(i));
      stack.push({ repeats: false, branches: [], open: i, start: i + (head ? head[0].length : 1) });
      branchStart = stack.at(-1)!.start;
      if (head) i += head[0].length - 1;
      continue;
    }
    if (c === '|') {
      stack.at(-1)!.branches.push(pattern.slice(branchStart, i));
      branchStart = i + 1;
      continue;
    }
    if (c === ')' && stack.length > 1) {
      const group = stack.pop()!;
      group.branches.push(pattern.slice(branchStart, i));
      const outer = repeatAt(pattern, i + 1).length;
      const text = pattern.slice(group.open, i + 1 + outer);
      if (outer && group.repeats) return `${text} repeats a group that repeats inside`;
      if (outer && overlapping(group.branches)) return `${text} repeats a choice whose branches can match the same text`;
      stack.at(-1)!.repeats ||= group.repeats || outer > 0;
      branchStart = i + 1 + outer;
      continue;
    }
    if (repeatAt(pattern, i).varies) stack.at(-1)!.repeats = true;
  }
  return null;
}

/** Two branches of which one is the other or starts it (`a|a`, `a|ab`, an empty branch). */
function overlapping(branches: string[]): boolean {
  if (branches.length < 2) return false;
  return branches.some((a, i) => branches.some((b, j) => i !== j && b.startsWith(a)));
}

/** Every schema `pattern` in the document that backtrackingShape names. */
export function backtrackingPatterns(root: Json): LintFinding[] {
  const out: LintFinding[] = [];
  const walk = (node: Json, at: string, depth: number): void => {
    if (depth > 200) return;
    if (Array.isArray(node)) return node.forEach((child, i) => walk(child, pointerJoin(at, String(i)), depth + 1));
    if (!isObject(node)) return;
    if (typeof node.pattern === 'string') {
      const why = backtrackingShape(node.pattern);
      if (why) {
        out.push({
          severity: 'warning', pointer: pointerJoin(at, 'pattern'), rule: 'lavendly/backtracking-pattern',
          message: `${why}: a near-miss string makes the regex engine try every split (seconds for a few dozen characters); rewrite it without nested repetition`,
        });
      }
    }
    for (const [key, child] of Object.entries(node)) if (!DATA_KEYS.has(key) && !key.startsWith('x-')) walk(child, pointerJoin(at, key), depth + 1);
  };
  walk(root, '#', 0);
  return out;
}
