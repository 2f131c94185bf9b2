/**
 * The intermediate representation: the spec parsed and normalised once, so that every emitter
 * reads the same facts and none of them touches YAML or chases $refs itself.
 *
 * Schemas stay JSON Schema (OpenAPI 3.0 forms are normalised to 3.1 forms: `nullable: true`
 * becomes a `'null'` type member, `example` stays as is). References to component schemas are
 * kept as `{ $ref: '#/components/schemas/Name' }` so that recursive schemas stay finite and
 * emitters can refer to the named type; every other $ref (parameters, responses, request bodies,
 * path items, refs into non-schema places) is resolved by the IR builder.
 */
export type JsonSchema = boolean | { [key: string]: unknown };

export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch' | 'trace';

export interface IrParameter {
  /** Name on the wire (`Idempotency-Key`, `node_id`). */
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  description?: string;
  schema: JsonSchema;
  style?: string;
  explode?: boolean;
  /** Set when the parameter is declared with `content` instead of `schema` (its value is e.g. JSON text). */
  contentType?: string;
  /** JSON pointer of the parameter object in the spec, for error messages. */
  pointer: string;
}

export interface IrMediaBody {
  contentType: string;
  schema: JsonSchema;
  examples: unknown[];
  /** A form body's Encoding Objects by property (style, explode, contentType), as declared. */
  encoding?: IrEncoding;
}

export type IrEncoding = { [property: string]: { style?: string; explode?: boolean; contentType?: string } };

export interface IrRequestBody {
  required: boolean;
  description?: string;
  /** Every declared media type, JSON ones first. */
  contents: IrMediaBody[];
}

export interface IrResponse {
  /** '200', '201', '4XX', 'default', ... exactly as in the spec. */
  status: string;
  description: string;
  contents: IrMediaBody[];
  headers: { name: string; required: boolean; schema: JsonSchema }[];
}

export interface IrMcpTool {
  name: string;
  description: string;
  annotations: {
    readOnlyHint?: boolean;
    destructiveHint?: boolean;
    idempotentHint?: boolean;
    openWorldHint?: boolean;
  };
  /** Arguments hidden from this tool / made required for this tool. */
  exclude: string[];
  require: string[];
  /** Argument values this tool uses when the caller leaves them out (`x-mcp` tool `defaults`). */
  defaults: Record<string, unknown>;
}

export interface IrAsyncJob {
  poll: string;
  args: Record<string, string>;
  statusField: string;
  terminal: string[];
}

export interface IrOperation {
  operationId: string;
  /** A valid TS identifier derived from operationId (`repos/get-content` -> `repos_get_content`). */
  identifier: string;
  method: HttpMethod;
  path: string;
  tag: string;
  summary?: string;
  description?: string;
  deprecated: boolean;
  /** Path-level and operation-level parameters merged (operation wins), sorted by location then name. */
  parameters: IrParameter[];
  requestBody: IrRequestBody | null;
  responses: IrResponse[];
  /** True when the effective security requirement is non-empty. */
  secured: boolean;
  /**
   * The effective security requirement (the operation's, else the document's): alternatives,
   * each the names of the schemes sent together. `[]`: public; an empty alternative: optional.
   */
  security: string[][];
  idempotent: boolean;
  scopes: string[];
  pagination: 'cursor' | null;
  chargesCredits: boolean;
  asyncJob: IrAsyncJob | null;
  mcpTools: IrMcpTool[];
  sdkMethod?: string;
  /** `x-sdk-upload`: this operation opens an upload slot; the SDKs get a helper that opens one and sends a file to it. */
  sdkUpload: IrSdkUpload | null;
  pointer: string;
  /**
   * PascalCase base for this operation's type names (`CreateWorkflow` -> `CreateWorkflowInput`,
   * `CreateWorkflowResult`); unique against component type names and other operations.
   */
  typeName: string;
  /** The tag's identifier (`code-scanning` -> `code_scanning`): the key of its Handlers slice. */
  tagIdentifier: string;
}

export interface IrTag {
  /** As in the spec. */
  name: string;
  /** Valid identifier: the key of the tag's slice in `Handlers` and the SDK group name. */
  identifier: string;
  /** PascalCase, for interface names (`WorkflowsHandlers`). */
  typeName: string;
  description?: string;
}

export interface IrSchemaComponent {
  /** Name as in the spec. */
  name: string;
  /** Valid, unique TS identifier (PascalCase) for the emitted type / validator. */
  identifier: string;
  schema: JsonSchema;
  /**
   * Set on a request view split off a component both directions use (generator/ir-direction.ts):
   * the spec name of that component, which is still the value that selects it in a discriminator.
   */
  variantOf?: string;
}

/** One entry of the top-level `webhooks` map (OpenAPI 3.1): an event the API sends to its subscribers. */
export interface IrWebhook {
  /** Key in `webhooks`: the event type (`render.succeeded`). */
  name: string;
  method: HttpMethod;
  summary?: string;
  description?: string;
  /** The request body the API sends, null when none is declared. */
  body: IrRequestBody | null;
  /** JSON pointer of the operation object. */
  pointer: string;
}

export interface IrDocument {
  /** Path of the spec as given to the generator (used in banners). */
  specPath: string;
  /** sha256 of the spec file bytes. */
  specHash: string;
  openapiVersion: string;
  title: string;
  version: string;
  description?: string;
  /** Path part of servers[0].url ('' when absent), e.g. '/v1'. */
  basePath: string;
  serverUrl: string;
  schemas: IrSchemaComponent[];
  operations: IrOperation[];
  /** The top-level `webhooks` (OpenAPI 3.1), in document order; empty for 3.0. */
  webhooks: IrWebhook[];
  tags: string[];
  /** Same order as `tags`, with identifiers. */
  tagInfo: IrTag[];
  /** `components.securitySchemes` as in the spec, $refs resolved (for the catalog / SDK auth). */
  securitySchemes: Record<string, unknown>;
  /** The document's default security requirement (alternatives of scheme names), `[]` when none. */
  security: string[][];
}

/**
 * `x-sdk-upload` on an operation that opens an upload slot: the SDKs' `method` calls it (with the
 * file's size in the `size` argument when known), then calls `send` with the file as its body and
 * its `args` taken from the slot (send's argument -> field of the slot), and returns send's answer.
 */
export interface IrSdkUpload {
  method: string;
  send: string;
  size: string | null;
  /** The slot-opening argument that takes the file's name, filled from a path or a File when not given. */
  filename: string | null;
  args: Record<string, string>;
}
