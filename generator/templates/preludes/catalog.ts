/**
 * The types of catalog.gen.ts (what `GET /_schema` serves). Type aliases, not interfaces: they
 * stay assignable to open schemas (`[key: string]: unknown`).
 * A real module so that tsc (`npm run typecheck`) checks it with the repository; the catalog
 * emitter copies each `// #region <name>` block into catalog.gen.ts verbatim. Lines outside the regions only
 * stand in for what catalog.gen.ts declares around the blocks.
 */

// #region types
export type JsonSchema = boolean | { [key: string]: unknown };

export type CatalogParameter = {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  description?: string;
  schema: JsonSchema;
};

export type CatalogOperation = {
  operation_id: string;
  method: 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch' | 'trace';
  /** Relative to the server URL (`base_path`), with `{param}` placeholders. */
  path: string;
  tag: string;
  summary?: string;
  description?: string;
  deprecated: boolean;
  secured: boolean;
  scopes: string[];
  idempotent: boolean;
  pagination: 'cursor' | null;
  charges_credits: boolean;
  async_job: { poll: string; args: { [param: string]: string }; status_field: string; terminal: string[] } | null;
  mcp_tools: string[];
  parameters: CatalogParameter[];
  request_body: { required: boolean; description?: string; content_type: string; content_types: string[]; schema: JsonSchema } | null;
  responses: { [status: string]: { description: string; content_type: string | null; schema: JsonSchema | null } };
};

export type Catalog = {
  title: string;
  version: string;
  description?: string;
  openapi: string;
  server_url: string;
  base_path: string;
  operations: CatalogOperation[];
  /** Every component schema the operations refer to, so that each `$ref` resolves in this document. */
  components: { schemas: { [name: string]: JsonSchema } };
};
// #endregion
