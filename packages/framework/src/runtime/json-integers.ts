import type { ValidationIssue } from './errors.js';

/**
 * An integer literal that JSON.parse rounds: 12345678901234567890 becomes 12345678901234567000 (a
 * double holds integers exactly only up to 2^53), so a free-form field (a reservation's metadata)
 * was stored and answered as a different number while the request succeeded. Found in the text,
 * since the parsed value no longer tells: an integer the server writes back as sent (JSON.stringify's
 * own 12345678901234567000, or 100000000000000000000 for 1e20) passes. Fractions and exponents are
 * decimal approximations by nature and are not looked at.
 *
 * A candidate has 16 digits in a row (2^53 has 16); the run is anchored after a non-digit so a long
 * one is not retried from every digit. Strings may match: it only decides whether the text is scanned.
 */
export const MAY_ROUND_INTEGER = /(?:^|\D)\d{16}/;

const NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;

/**
 * The first integer literal of `text` (valid JSON, nested no deeper than the body reader allows)
 * that a double does not hold exactly, with its path, in document order; null when there is none.
 * One pass over the text that tracks the path itself (the parsed value has lost the literals).
 */
export function roundedIntegerAt(text: string): ValidationIssue | null {
  const path: (string | number)[] = [];
  const inObject: boolean[] = [];
  let expectKey = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '{' || c === '[') {
      inObject.push(c === '{');
      path.push(c === '{' ? '' : 0);
      expectKey = c === '{';
      i++;
    } else if (c === '}' || c === ']') {
      inObject.pop();
      path.pop();
      i++;
    } else if (c === ',') {
      if (inObject.at(-1)) expectKey = true;
      else path[path.length - 1] = (path.at(-1) as number) + 1;
      i++;
    } else if (c === '"') {
      const end = closingQuote(text, i);
      if (expectKey) path[path.length - 1] = JSON.parse(text.slice(i, end + 1)) as string;
      expectKey = false;
      i = end + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text)!;
      i = NUMBER.lastIndex;
      if (m[1] === undefined && m[2] === undefined && m[0].length >= 16 && !keptExactly(m[0])) {
        return {
          path: [...path],
          message: `Integer beyond 2^53, which the server cannot keep exactly (it would become ${String(Number(m[0]))}): use a smaller number, or a string where the field takes text.`,
          code: 'unsafe_integer',
        };
      }
    } else {
      i++; // whitespace, ':', true, false, null
    }
  }
  return null;
}

/** The index of the quote closing the string opened at `start` (the text is valid JSON). */
function closingQuote(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    while (text[end - 1 - backslashes] === '\\') backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

/**
 * Whether the integer `literal` is the number the server writes back (JSON.stringify of the double
 * JSON.parse makes of it): 2^60 written out in full (1152921504606846976) is written back as
 * 1152921504606847000, which a client reading integers exactly (Python) takes for another number.
 */
function keptExactly(literal: string): boolean {
  const value = Number(literal);
  if (Number.isSafeInteger(value)) return true;
  const shown = String(value);
  const m = /^(-?)(\d+)(?:\.(\d+))?e\+(\d+)$/.exec(shown);
  // Below 1e21 both are plain digits; Infinity (309 digits and more) is json-values.ts's to refuse.
  if (!m) return shown === literal || !Number.isFinite(value);
  const fraction = m[3] ?? '';
  // An integer's double is an integer: written out, its exponent covers the fraction's digits.
  const zeros = BigInt(Number(m[4]) - fraction.length);
  return BigInt(`${m[1]}${m[2]}${fraction}`) * 10n ** zeros === BigInt(literal);
}
