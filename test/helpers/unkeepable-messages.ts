/**
 * JSON-RPC messages that parse but that the API could not keep as sent (too deep, `__proto__`,
 * 1e400, 12345678901234567890), with the one answer each must get over stdio and over `/mcp`
 * alike: the request's own id, -32602 naming the path when it sits in a request's params, else
 * -32600. Shared by the stdio package test and the `/mcp` body test so the two transports are held
 * to the same outcome.
 */
let deep = '1';
for (let i = 0; i < 70; i++) deep = `{"a":${deep}}`;

export interface UnkeepableCase {
  line: string;
  id: string | number | null;
  code: number;
  message: string;
}

export const UNKEEPABLE_MESSAGES: readonly UnkeepableCase[] = [
  {
    line: '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"create_workflow","arguments":{"name":"proto","shots":[{"prompt":"p"}],"__proto__":{"admin":true}}}}',
    id: 11,
    code: -32602,
    message: 'Invalid params for tools/call: params.arguments.__proto__: A key named __proto__ is not accepted: it would not be kept.',
  },
  {
    line: '{"jsonrpc":"2.0","id":"twelve","method":"tools/call","params":{"name":"create_workflow","arguments":{"name":"huge","shots":[{"prompt":"p","x":1e400}]}}}',
    id: 'twelve',
    code: -32602,
    message: 'Invalid params for tools/call: params.arguments.shots.0.x: Number too large to represent (beyond ±1.8e308).',
  },
  {
    line: '{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"create_workflow","arguments":{"name":"big","shots":[{"prompt":"p","n":12345678901234567890}]}}}',
    id: 15,
    code: -32602,
    message: 'Invalid params for tools/call: params.arguments.shots.0.n: Integer beyond 2^53, which the server cannot keep exactly (it would become 12345678901234567000): use a smaller number, or a string where the field takes text.',
  },
  {
    line: `{"jsonrpc":"2.0","id":13,"method":"ping","params":{"_meta":${deep}}}`,
    id: 13,
    code: -32602,
    message: 'Invalid params for ping: params._meta.a.a.a.a.a.a…: JSON nested deeper than 64 levels.',
  },
  {
    line: '{"jsonrpc":"2.0","id":14,"method":"ping","__proto__":1}',
    id: 14,
    code: -32600,
    message: 'Invalid Request: __proto__: A key named __proto__ is not accepted: it would not be kept.',
  },
  {
    // A notification has no id to answer with: JSON-RPC's null.
    line: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"_meta":${deep}}}`,
    id: null,
    code: -32600,
    message: 'Invalid Request: params._meta.a.a.a.a.a.a…: JSON nested deeper than 64 levels.',
  },
];
