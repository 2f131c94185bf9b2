/**
 * The API's error codes, declared once in the spec: the component schema `ErrorCode`, a `oneOf`
 * of `const` strings, each carrying its HTTP status in `x-status` (and optionally, in
 * `x-sdk-error`, the SDK error class to throw instead of the one its status implies). The server's
 * code table, the SDKs' error classes and the MCP next-step table are generated from it.
 */
import type { IrDocument } from '../ir-types.js';
import { isObj } from '../schema/walker.js';

/** The component schema that declares the codes. */
export const ERROR_CODE_SCHEMA = 'ErrorCode';

export interface ErrorCode {
  code: string;
  status: number;
  /** `x-sdk-error`: a class name of the SDK runtime, when the status's class is not the right one. */
  sdkError?: string;
}

/** Every declared code, in spec order; empty when the spec has no `ErrorCode` schema. */
export function errorCodes(ir: IrDocument): ErrorCode[] {
  const component = ir.schemas.find((c) => c.name === ERROR_CODE_SCHEMA);
  if (!component) return [];
  const where = `#/components/schemas/${ERROR_CODE_SCHEMA}`;
  const members = isObj(component.schema) ? component.schema.oneOf : undefined;
  if (!Array.isArray(members)) throw new Error(`${where}: expected a oneOf of { const, x-status } members`);
  return members.map((m, i) => {
    const code = isObj(m) ? m.const : undefined;
    const status = isObj(m) ? m['x-status'] : undefined;
    if (typeof code !== 'string') throw new Error(`${where}/oneOf/${i}: expected a string \`const\``);
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) {
      throw new Error(`${where}/oneOf/${i} (${code}): \`x-status\` must be an HTTP error status (400-599)`);
    }
    const sdkError = isObj(m) && typeof m['x-sdk-error'] === 'string' ? m['x-sdk-error'] : undefined;
    return sdkError ? { code, status, sdkError } : { code, status };
  });
}
