/**
 * The JSON body reader's depth limit (MAX_JSON_DEPTH): a text with no more opening brackets than
 * the limit skips the character scan, so the answers on either side of the limit, with brackets
 * in strings, side by side or mixed, must be what the full scan gives.
 */
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, parseJson } from '../../packages/framework/src/runtime/body.js';

const parse = (text: string) => parseJson(Buffer.from(text, 'utf8'));
const codeOf = (text: string): string | null => {
  try {
    parse(text);
    return null;
  } catch (err) {
    return (err as { issues?: { body?: { code: string }[] } }).issues?.body?.[0]?.code ?? 'other';
  }
};
const nested = (depth: number, open: (i: number) => string = (i) => (i % 2 ? '{"k":' : '['), close: (i: number) => string = (i) => (i % 2 ? '}' : ']')) => {
  let text = '1';
  for (let i = depth - 1; i >= 0; i--) text = `${open(i)}${text}${close(i)}`;
  return text;
};

describe('JSON body depth', () => {
  it('accepts nesting up to the limit and refuses one level more, with [ and { mixed', () => {
    expect(codeOf(nested(MAX_JSON_DEPTH))).toBeNull();
    expect(codeOf(nested(MAX_JSON_DEPTH + 1))).toBe('too_deep');
    expect(codeOf(nested(MAX_JSON_DEPTH + 1, () => '[', () => ']'))).toBe('too_deep');
    expect(codeOf(nested(MAX_JSON_DEPTH + 1, () => '{"a":', () => '}'))).toBe('too_deep');
  });

  it('counts brackets inside strings and side by side as no depth', () => {
    expect(parse(JSON.stringify({ s: '['.repeat(500) + '{'.repeat(500) }))).toEqual({ s: '['.repeat(500) + '{'.repeat(500) });
    const sideBySide = `[${Array.from({ length: 200 }, () => '{"a":[]}').join(',')}]`;
    expect((parse(sideBySide) as unknown[]).length).toBe(200);
    // Escaped quotes do not end a string early.
    expect(codeOf(`{"s":"\\"${'['.repeat(100)}"}`)).toBeNull();
  });

  it('reports too deep before malformed, as the full scan always did', () => {
    expect(codeOf('['.repeat(MAX_JSON_DEPTH + 1))).toBe('too_deep');
    expect(codeOf('['.repeat(MAX_JSON_DEPTH))).toBe('invalid_json');
    expect(codeOf('{"a":' + '['.repeat(10))).toBe('invalid_json');
  });
});

describe('JSON numbers beyond a double', () => {
  it('are refused where they are, not read as Infinity (which JSON writes back as null)', () => {
    expect(codeOf('{"a":{"b":[1e400]}}')).toBe('number_out_of_range');
    expect(codeOf('-1E+999')).toBe('number_out_of_range');
    expect(codeOf(`[${'9'.repeat(400)}]`)).toBe('number_out_of_range');
    expect(codeOf('{"a":1e308,"b":1e-999,"s":"1e999","t":"' + '9'.repeat(400) + '"}')).toBeNull();
  });
});

describe('a key named __proto__', () => {
  it('is refused at its path, however it is spelled, rather than dropped by validation', () => {
    const issue = (text: string) => {
      try {
        parse(text);
        return null;
      } catch (err) {
        return (err as { issues?: { body?: unknown[] } }).issues?.body?.[0];
      }
    };
    expect(issue('{"m":{"a":[{"__proto__":{"x":1}}]}}')).toEqual({ path: ['m', 'a', 0, '__proto__'], message: expect.any(String), code: 'reserved_key' });
    expect(issue('{"\\u005f_proto__":1}')).toMatchObject({ path: ['__proto__'], code: 'reserved_key' });
    expect(issue('{"m":{"_\\u005F\\u0070\\u0072\\u006F\\u0074o__":1}}')).toMatchObject({ path: ['m', '__proto__'], code: 'reserved_key' });
    // In a value, or as part of a longer key, it is text like any other.
    expect(issue('{"s":"__proto__","__proto__x":1,"constructor":{"prototype":2},"k":"\\u0041"}')).toBeNull();
  });
});
