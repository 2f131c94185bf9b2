// generated/types.gen.ts (which the SDK's types import) names the server's upload body type;
// the browser never sees it.
declare module 'node:stream' {
  export type Readable = unknown;
}
