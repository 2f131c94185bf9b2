/**
 * What the generated client tells the runtime about each operation: where each flattened
 * argument goes on the wire, the body, idempotency, pagination and the job it starts.
 * Part of the SDK runtime (see index.ts): only web-standard globals (fetch, Web Crypto) and sibling files may be used.
 */
export type ArgLocation = 'path' | 'query' | 'header' | 'body';

/** Where one argument of a flattened input goes on the wire. */
export interface ArgBinding {
  in: ArgLocation;
  /** Name on the wire (parameter name, or body property name). */
  name: string;
  /** Query arrays: repeated keys (`true`, the OpenAPI default) or one comma-joined value. */
  explode?: boolean;
}

export interface AsyncJobDescriptor {
  /** operationId that polls the job. */
  poll: string;
  /** poll parameter name -> field (dotted path) of the job body. */
  args: Record<string, string>;
  statusField: string;
  terminal: string[];
}

export interface OperationDescriptor {
  method: string;
  /**
   * The credentials the operation takes: alternatives, each the names of the security schemes
   * sent together (`[]`: public). Absent when the spec's schemes are all Bearer: the API key then
   * goes with every request.
   */
  security?: readonly (readonly string[])[];
  /** Path template relative to the base URL: `/workflows/{id}`. */
  path: string;
  /** Flattened argument name -> wire location. Arguments not listed go into a 'flat' body. */
  args: Record<string, ArgBinding>;
  /** 'flat': object body built from the leftover arguments; 'single': one argument is the body. */
  bodyMode: 'none' | 'flat' | 'single';
  /** The argument holding the whole body when bodyMode is 'single'. */
  bodyArg?: string;
  bodyRequired: boolean;
  /** Request content type ('application/json', 'multipart/form-data', ...), null without a body. */
  contentType: string | null;
  /**
   * A form body's fields not sent as form fields (their key repeated for a list): `deepObject` in
   * brackets, `json` as one JSON text, as the spec's `encoding` declares. Absent: none.
   */
  formEncoding?: Readonly<Record<string, 'deepObject' | 'json'>>;
  /** Header carrying the idempotency key; non-null exactly for idempotent operations. */
  idempotencyHeader: string | null;
  pagination: 'cursor' | null;
  asyncJob: AsyncJobDescriptor | null;
  /** Every documented success answer is JSON: one that is not is refused, not returned (InvalidResponseError). */
  responseJson?: boolean;
  /**
   * Every documented success body is an object with these keys: one that is not (null, a list, an
   * object without them) is refused (InvalidResponseError), not returned typed as that object.
   */
  responseKeys?: readonly string[];
}

export interface RequestParts {
  path?: Record<string, unknown>;
  query?: Record<string, unknown>;
  headers?: Record<string, unknown>;
  body?: unknown;
}

/** Per-operation type facts the generated client supplies: its flattened params and its success body. */
export interface OperationTypes {
  params: unknown;
  response: unknown;
}

/** A body type with some properties renamed (flattened arguments that clash with a parameter). */
export type Renamed<B, M extends { [name: string]: string }> = { [K in keyof B as K extends keyof M ? M[K] : K]: B[K] };
/** An optional body left out: none of its properties given. */
export type NoBody<B> = { [K in keyof B]?: undefined };
