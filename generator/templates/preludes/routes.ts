/**
 * The declarations every routes.gen.ts carries: `OperationMeta`, `RouteResult` and the
 * `RouteRuntime<Ctx>` seam that a runtime implements.
 * A real module so that tsc (`npm run typecheck`) checks it with the repository; the routes
 * emitter copies each `// #region <name>` block into routes.gen.ts verbatim. Lines outside the regions only
 * stand in for what routes.gen.ts declares around the blocks (here: the imports of koa's types and the sibling validators).
 */
import type { Middleware } from 'koa';
import type { OperationValidators } from './validators.js';

// #region declarations
export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch' | 'trace';

export interface OperationMeta {
  operationId: string;
  /** Key of this operation in `operations`, `operationValidators` and its Handlers slice. */
  identifier: string;
  method: HttpMethod;
  /** As in the spec: `/workflows/{id}`. */
  path: string;
  /** For @koa/router: `/workflows/:id`. */
  routerPath: string;
  tag: string;
  /** Key of the tag's slice in `Handlers`. */
  tagIdentifier: string;
  idempotent: boolean;
  scopes: string[];
  secured: boolean;
  pagination: 'cursor' | null;
  chargesCredits: boolean;
  asyncJob: { poll: string; args: { [param: string]: string }; statusField: string; terminal: string[] } | null;
  requestContentTypes: string[];
  successStatuses: number[];
}

/** What a handler answers: one of the operation's declared statuses, its body and extra headers. */
export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: { [name: string]: string };
}

export interface RouteRuntime<Ctx> {
  /**
   * The one middleware that serves an operation, built once at mount time (one layer per request,
   * not a chain). It does what the operation's extensions promise (auth, scopes, rate limit,
   * idempotency...), then builds the handler input `{ path, query, headers, body }`: `v.path`
   * parses ctx.params, `v.query` ctx.query, `v.headers` ctx.headers (lower-cased names) and
   * `v.body` the parsed body (`undefined` when there is none, the request stream for binary
   * content); the validators coerce strings and apply defaults, and invalid input is an error.
   * Then it calls `call(input, handlerContext)` and writes the result (status, headers, body),
   * validating it against `v.responses` when configured.
   */
  operation<I, R extends RouteResult>(meta: OperationMeta, v: OperationValidators, call: (input: I, ctx: Ctx) => Promise<R>): Middleware;
}
// #endregion
