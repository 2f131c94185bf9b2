/**
 * The API's error codes, declared once in the spec: `x-error-codes` (code -> HTTP status) on the
 * `code` property of the error schema. SDKs generate one error class per code from it.
 */
import type { IrDocument } from '../ir-types.js';
import { isObj } from '../schema/walker.js';

export interface ErrorCode {
  code: string;
  status: number;
}

/** Every declared code, in spec order; empty when the spec declares none. */
export function errorCodes(ir: IrDocument): ErrorCode[] {
  for (const c of ir.schemas) {
    const props = isObj(c.schema) && isObj(c.schema.properties) ? c.schema.properties : {};
    for (const prop of Object.values(props)) {
      const table = isObj(prop) ? prop['x-error-codes'] : undefined;
      if (!isObj(table)) continue;
      return Object.entries(table)
        .filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isInteger(e[1]))
        .map(([code, status]) => ({ code, status }));
    }
  }
  return [];
}
