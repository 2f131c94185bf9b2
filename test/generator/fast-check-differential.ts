/**
 * The differential check behind the fast-check tests: one generated fast check and its zod schema
 * given the same inputs. Whenever the fast check accepts, zod accepts too and gives the very same
 * value (deep and in key order); so whenever zod refuses, the fast check has refused.
 */
import { expect } from 'vitest';
import type { IrOperation } from '../../generator/ir-types.js';
import { parameterKey, parametersIn, type ParameterLocation } from '../../generator/shared/source.js';

export type Schema = { safeParse(v: unknown): { success: boolean; data?: unknown } };
export type Check = (v: unknown) => unknown;
export type OpValidators = {
  path: Schema; query: Schema; headers: Schema; body: Schema;
  fastPath?: Check; fastQuery?: Check; fastHeaders?: Check; fastBody?: Check;
};
export type Module = { operationValidators: Record<string, OpValidators> };

/** What a fast check answers when it leaves the input to zod. */
export const NO = Symbol.for('lavendly.fast-check.no');

export interface Tally {
  bothAccept: number;
  bothRefuse: number;
  /** Allowed (zod then decides), but counted: the fast path should take the valid examples. */
  onlyZodAccepts: number;
}

/** Runs every variant through both; returns the tally, throwing on the first disagreement that matters. */
export function differential(check: Check, schema: Schema, bodies: unknown[]): Tally {
  const tally: Tally = { bothAccept: 0, bothRefuse: 0, onlyZodAccepts: 0 };
  for (const body of bodies) {
    const fast = check(body);
    const zod = schema.safeParse(body);
    const shown = JSON.stringify(body)?.slice(0, 300);
    if (fast !== NO) {
      expect(zod.success, `fast check accepted what zod refuses: ${shown}`).toBe(true);
      expect(fast, `fast check's value differs from zod's for ${shown}`).toStrictEqual(zod.data);
      expect(JSON.stringify(fast), `key order differs for ${shown}`).toBe(JSON.stringify(zod.data));
      tally.bothAccept++;
    } else if (zod.success) tally.onlyZodAccepts++;
    else tally.bothRefuse++;
  }
  return tally;
}

/** A location's parameters as one object schema, as the runtime hands them to the check. */
export function paramsSchema(op: IrOperation, loc: ParameterLocation): { [key: string]: unknown } {
  const params = parametersIn(op, loc);
  const properties = Object.fromEntries(params.map((p) => [parameterKey(p), p.schema]));
  return { type: 'object', properties, required: params.filter((p) => p.required).map(parameterKey) };
}
