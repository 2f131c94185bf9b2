import type { ValidationIssue } from './errors.js';

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

/**
 * The issues of one request location: every string (and object key) of `value` that cannot be
 * stored, by path. Depth is bounded by the body reader (MAX_JSON_DEPTH) and by the shape of
 * path, query and header values (at most a list of strings).
 */
export function unstorableText(value: unknown): ValidationIssue[] {
  const found: ValidationIssue[] = [];
  const path: (string | number)[] = []; // one stack, copied only when something is found
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) found.push(issue([...path]));
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        walk(v[i]);
        path.pop();
      }
    } else if (typeof v === 'object' && v !== null) {
      for (const key of Object.keys(v)) {
        path.push(key);
        if (UNSTORABLE.test(key)) found.push(issue([...path]));
        walk((v as Record<string, unknown>)[key]);
        path.pop();
      }
    }
  };
  walk(value);
  return found;
}
