/**
 * errors.gen.ts: the server's error-code table, from the spec's `ErrorCode` schema. The HTTP edge
 * maps a thrown error's code to its status through it; domain code only names codes
 * (`ErrorCode`), so a code the spec does not declare is a compile error.
 */
import { propertyKey } from '../names.js';
import { errorCodes } from '../shared/error-codes.js';
import type { Emitter } from '../shared/emitter.js';

export const emitter: Emitter = {
  name: 'errors',
  file: 'errors.gen.ts',
  emit(ir, ctx) {
    const codes = errorCodes(ir);
    return [
      ctx.banner('errors.gen.ts'),
      '/** Every error code the API declares (`#/components/schemas/ErrorCode`), with its HTTP status. */',
      codes.length === 0
        ? 'export const errorStatusByCode = {} as const;'
        : ['export const errorStatusByCode = {', ...codes.map((c) => `  ${propertyKey(c.code)}: ${c.status},`), '} as const;'].join('\n'),
      '',
      'export type ErrorCode = keyof typeof errorStatusByCode;',
      '',
      '/** True when `code` is one the API declares. */',
      'export function isErrorCode(code: string): code is ErrorCode {',
      '  return Object.prototype.hasOwnProperty.call(errorStatusByCode, code);',
      '}',
      '',
    ].join('\n');
  },
};
