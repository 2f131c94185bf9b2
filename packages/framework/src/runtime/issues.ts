import { toIssue, type ValidationIssue } from './errors.js';

/**
 * zod's issues as the envelope lists them, bounded: zod reports every bad item and words some
 * issues with the input itself, so 100,000 bad items in a 0.6 MB body made a 30 MB answer (each
 * issue naming every allowed value), and unknown keys were all quoted back in one message.
 */
export const MAX_ISSUES = 100;
const MAX_MESSAGE = 1000;
const KEYS_NAMED = 20;

interface ZodLikeIssue {
  path: readonly PropertyKey[];
  message: string;
  code: string;
  keys?: unknown;
}

/** At most MAX_ISSUES issues, then one saying how many more there were. */
export function toIssues(issues: readonly ZodLikeIssue[]): ValidationIssue[] {
  const out = issues.slice(0, MAX_ISSUES).map((i) => toIssue({ ...i, message: boundedMessage(i) }));
  const more = issues.length - MAX_ISSUES;
  if (more > 0) out.push(moreIssues(more));
  return out;
}

/** The issue that stands for `more` issues left out of a list bounded at MAX_ISSUES. */
export function moreIssues(more: number): ValidationIssue {
  return { path: [], message: `${more} more issue${more === 1 ? '' : 's'} not listed.`, code: 'too_many_issues' };
}

function boundedMessage(issue: ZodLikeIssue): string {
  const keys = issue.keys;
  if (issue.code === 'unrecognized_keys' && Array.isArray(keys) && keys.length > KEYS_NAMED) {
    const named = keys.slice(0, KEYS_NAMED).map((k) => JSON.stringify(cut(String(k), 100))).join(', ');
    return `Unrecognized keys: ${named} and ${keys.length - KEYS_NAMED} more`;
  }
  return cut(issue.message, MAX_MESSAGE);
}

/** `text` cut to `max` UTF-16 units (with an ellipsis), never between the halves of a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}
