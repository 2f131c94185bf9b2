import type { FormPlan } from './form.js';

/**
 * The shapes the generated routes hand to the runtime, declared structurally so the runtime does
 * not depend on one generation of a spec: routes.gen.ts's `OperationMeta` and validators.gen.ts's
 * `OperationValidators` are assignable to these.
 */
export interface OperationMeta {
  operationId: string;
  method: string;
  path: string;
  routerPath: string;
  tag: string;
  idempotent: boolean;
  scopes: readonly string[];
  secured: boolean;
  pagination: 'cursor' | null;
  requestContentTypes: readonly string[];
  successStatuses: readonly number[];
}

/** The minimal zod surface the runtime uses (zod 4 schemas satisfy it). */
export interface SchemaLike {
  safeParse(data: unknown):
    | { success: true; data: unknown }
    | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string; code: string }[] } };
}

/**
 * What a generated fast check answers when it does not vouch for a body (validators.gen.ts's
 * `lv_no`): a registered symbol, so both sides name it without importing each other.
 */
export const FAST_CHECK_NO: unique symbol = Symbol.for('lavendly.fast-check.no') as never;

/** A generated fast check: the parsed value, or FAST_CHECK_NO. */
export type FastCheck = (value: unknown) => unknown;

export interface OperationValidators {
  path?: SchemaLike | null;
  query?: SchemaLike | null;
  headers?: SchemaLike | null;
  body?: SchemaLike | null;
  /**
   * Plain checks generated beside `path`, `query`, `headers` and `body`: for an input one accepts,
   * the very value the schema's parse would give; otherwise FAST_CHECK_NO, and the schema decides
   * and words the 400.
   */
  fastPath?: FastCheck | null;
  fastQuery?: FastCheck | null;
  fastHeaders?: FastCheck | null;
  fastBody?: FastCheck | null;
  /** Every declared request content type's schema; a form body is checked by its own. */
  bodies?: Readonly<Record<string, SchemaLike | null | undefined>>;
  /** How each form content type the runtime decodes is read (form.ts); other non-JSON types stay a stream. */
  forms?: Readonly<Record<string, FormPlan>> | null;
  responses?: Readonly<Record<string, SchemaLike | null | undefined>>;
}

/** What a handler answers: one of the operation's declared statuses, its body and extra headers. */
export interface HandlerResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}
