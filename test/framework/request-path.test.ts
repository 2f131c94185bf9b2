import { expect, it } from 'vitest';
import { normalisePath } from '../../packages/framework/src/runtime/request-path.js';

it('normalises percent-encodings as RFC 3986 6.2.2 does, keeping reserved characters encoded', () => {
  expect(normalisePath('/gr%c3%b6%c3%9fe/stra%c3%9fe')).toBe('/gr%C3%B6%C3%9Fe/stra%C3%9Fe');
  expect(normalisePath('/%70ets/%7e%2d')).toBe('/pets/~-');
  expect(normalisePath('/pets/a%2fb%3F%25')).toBe('/pets/a%2Fb%3F%25');
  expect(normalisePath('/pets/%zz%4')).toBe('/pets/%zz%4');
  expect(normalisePath('/pets')).toBe('/pets');
});
