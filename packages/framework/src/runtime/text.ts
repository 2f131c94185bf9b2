import type { ValidationIssue } from './errors.js';
import { MAX_ISSUES, moreIssues } from './issues.js';

/**
 * Text most databases cannot store as sent: PostgreSQL refuses NUL in `text` and `jsonb` (a 500
 * from deep inside a handler), and a UTF-16 surrogate without its pair cannot be encoded as
 * UTF-8 (drivers silently turn it into U+FFFD, so what is read back differs from what was
 * written). The runtime refuses both in every string a request carries, keys included, before
 * any operation sees it, so no handler can forget to (RuntimeOptions.refuseUnstorableText).
 */
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const issue = (path: (string | number)[]): ValidationIssue => ({
  path,
  message: 'Text must not contain NUL characters or unpaired UTF-16 surrogates.',
  code: 'invalid_text',
});

/** A cheap first look: only a string holding NUL or a surrogate at all needs the full test. */
const SUSPECT = /[\0\uD800-\uDFFF]/;

const unstorable = (text: string) => SUSPECT.test(text) && UNSTORABLE.test(text);

/**
 * The issues of one request location: the strings (and object keys) of `value` that cannot be
 * stored, by path, at most MAX_ISSUES of them and then one saying how many more (116,000 NUL
 * strings in a 1 MB body made a 14 MB answer). Depth is bounded by the body reader
 * (MAX_JSON_DEPTH) and by the shape of path, query and header values (at most a list of
 * strings). Runs on every request, so the walk is a plain function (no closure per call) and
 * allocates one small record, more only when it finds something.
 */
export function unstorableText(value: unknown): ValidationIssue[] {
  const found: Found = { issues: [], more: 0 };
  walk(value, [], found);
  if (found.more) found.issues.push(moreIssues(found.more));
  return found.issues;
}

interface Found {
  issues: ValidationIssue[];
  /** How many were found past MAX_ISSUES. */
  more: number;
}

function report(found: Found, path: (string | number)[]): void {
  if (found.issues.length < MAX_ISSUES) found.issues.push(issue([...path]));
  else found.more++;
}

/** `path` is one stack for the whole walk, copied only when something is found. */
function walk(v: unknown, path: (string | number)[], found: Found): void {
  if (typeof v === 'string') {
    if (unstorable(v)) report(found, path);
  } else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      path.push(i);
      walk(v[i], path, found);
      path.pop();
    }
  } else if (typeof v === 'object' && v !== null) {
    for (const key in v) {
      if (!Object.hasOwn(v, key)) continue;
      path.push(key);
      if (unstorable(key)) report(found, path);
      walk((v as Record<string, unknown>)[key], path, found);
      path.pop();
    }
  }
}
