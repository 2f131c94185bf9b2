// Contract checks on spec/openapi.yaml, the single source of truth.
// Structural validity (swagger-parser), the Spectral OpenAPI ruleset, and the project
// conventions of docs/ARCHITECTURE.md that no generic linter knows about.
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Spectral, Document } from '@stoplight/spectral-core';
import * as Parsers from '@stoplight/spectral-parsers';
import { DiagnosticSeverity } from '@stoplight/types';
import { bundleAndLoadRuleset } from '@stoplight/spectral-ruleset-bundler/with-loader';

const root = fileURLToPath(new URL('../..', import.meta.url));
const specPath = resolve(root, 'spec/openapi.yaml');
const specText = readFileSync(specPath, 'utf8');
// The raw document: $refs left in place, so we can see what references what.
const spec = parse(specText) as any;

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;
const TAGS = ['workflows', 'assets', 'generate', 'audio', 'renders', 'review', 'publish', 'ledger', 'telemetry', 'webhooks', 'keys'];
const MCP_TOOLS = [
  'list_workflows', 'get_workflow', 'create_workflow', 'update_workflow', 'delete_workflow',
  'import_asset', 'estimate_cost', 'generate_scene', 'get_generation_status',
  'get_workflow_audio', 'set_clip_native_audio', 'attach_track', 'update_track', 'detach_track',
  'create_render', 'get_render', 'list_renders', 'list_all_renders',
  'quality_check', 'get_scene_frame', 'list_channels', 'publish_video', 'schedule_video',
  'get_ledger', 'get_monthly_usage', 'get_status', 'get_schema',
  'review_scenes',
];
const MUST_BE_IDEMPOTENT = [
  'create_workflow', 'import_asset', 'create_upload', 'generate_scene', 'attach_track', 'create_render',
  'publish_video', 'reserve_credits', 'commit_reserve', 'refund_reserve', 'create_webhook_endpoint',
  'connect_channel', 'replay_webhook_delivery',
];
const ERROR_RESPONSES: Record<string, string> = {
  '400': 'BadRequest', '401': 'Unauthorized', '402': 'PaymentRequired', '403': 'Forbidden', '404': 'NotFound',
  '405': 'MethodNotAllowed', '408': 'RequestTimeout', '409': 'Conflict', '412': 'PreconditionFailed', '413': 'PayloadTooLarge',
  '415': 'UnsupportedMediaType', '422': 'UnprocessableEntity', '429': 'TooManyRequests', '431': 'HeadersTooLarge', '500': 'InternalError',
};

interface Op { method: string; path: string; op: any; params: any[] }

/** Follows a local `#/...` JSON pointer in the raw document. */
function deref<T = any>(node: any): T {
  let seen = 0;
  while (node && typeof node === 'object' && typeof node.$ref === 'string') {
    if (++seen > 20) throw new Error(`ref cycle at ${node.$ref}`);
    const ref: string = node.$ref;
    if (!ref.startsWith('#/')) throw new Error(`non-local $ref ${ref}`);
    node = ref.slice(2).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((acc: any, key) => (acc == null ? undefined : acc[key]), spec);
    if (node === undefined) throw new Error(`dangling $ref ${ref}`);
  }
  return node;
}

const ops: Op[] = Object.entries<any>(spec.paths).flatMap(([path, item]) =>
  METHODS.filter((m) => item[m]).map((method) => ({
    method, path, op: item[method],
    params: [...(item.parameters ?? []), ...(item[method].parameters ?? [])].map((p) => deref(p)),
  })),
);
const byId = new Map(ops.map((o) => [o.op.operationId as string, o]));
const jsonBodySchema = (o: Op) => o.op.requestBody && deref(deref(o.op.requestBody).content?.['application/json']?.schema);
const successResponses = (o: Op) => Object.entries<any>(o.op.responses).filter(([s]) => /^2\d\d$/.test(s));

describe('spec/openapi.yaml', () => {
  it('is a valid OpenAPI 3.1 document (swagger-parser)', async () => {
    const api: any = await SwaggerParser.validate(specPath);
    expect(api.openapi).toBe('3.1.0');
    expect(api.info.title).toBe('Lavendly API');
    expect(api.servers[0].url).toBe('http://localhost:8090/v1');
  }, 60_000);

  it('passes the Spectral OpenAPI ruleset with no errors', async () => {
    const spectral = new Spectral();
    spectral.setRuleset(await bundleAndLoadRuleset(resolve(root, '.spectral.yaml'), { fs, fetch }));
    const results = await spectral.run(new Document(specText, Parsers.Yaml, specPath));
    const describe = (r: (typeof results)[number]) =>
      `${r.code} at ${r.path.join('.')} (line ${r.range.start.line + 1}): ${r.message}`;
    const errors = results.filter((r) => r.severity === DiagnosticSeverity.Error).map(describe);
    expect(errors).toEqual([]);
    const warnings = results.filter((r) => r.severity === DiagnosticSeverity.Warning).map(describe);
    expect(warnings).toEqual([]);
  }, 120_000);

  it('has every DESIGN operation, each with a unique snake_case id, one known tag, a summary and a description', () => {
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { op, method, path } of ops) {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
      expect(op.tags, op.operationId).toHaveLength(1);
      expect(TAGS, op.operationId).toContain(op.tags[0]);
      expect(op.summary, op.operationId).toBeTruthy();
      expect(op.description, op.operationId).toBeTruthy();
    }
    expect(spec.tags.map((t: any) => t.name).sort()).toEqual([...TAGS].sort());
    const expected: Record<string, string> = {
      list_workflows: 'get /workflows', get_workflow: 'get /workflows/{id}', create_workflow: 'post /workflows',
      update_workflow: 'put /workflows/{id}', delete_workflow: 'delete /workflows/{id}',
      import_asset: 'post /storage/ingest', create_upload: 'post /uploads', put_upload: 'put /uploads/{id}',
      get_asset: 'get /assets/{id}',
      estimate_cost: 'get /workflows/{id}/cost-estimate', generate_scene: 'post /workflows/{id}/generate',
      get_generation_status: 'get /workflows/{id}/generation-status',
      get_workflow_audio: 'get /workflows/{id}/audio',
      set_clip_native_audio: 'patch /workflows/{id}/clips/{clip_id}/audio',
      attach_track: 'post /workflows/{id}/clips/{clip_id}/tracks',
      update_track: 'patch /workflows/{id}/tracks/{track_id}', detach_track: 'delete /workflows/{id}/tracks/{track_id}',
      create_render: 'post /workflows/{id}/renders', get_render: 'get /workflows/{id}/renders/{job_id}',
      list_renders: 'get /workflows/{id}/renders', list_all_renders: 'get /renders',
      update_render: 'patch /workflows/{id}/renders/{job_id}',
      quality_check: 'post /workflows/{id}/quality-check', get_scene_frame: 'post /workflows/{id}/scene-frame',
      review_scenes: 'post /workflows/{id}/review', update_account: 'patch /account',
      list_channels: 'get /channels', connect_channel: 'post /channels', publish_video: 'post /workflows/{id}/publish',
      get_publication: 'get /publications/{id}', cancel_publication: 'post /publications/{id}/cancel',
      get_ledger: 'get /ledger', reserve_credits: 'post /ledger/reservations',
      commit_reserve: 'post /ledger/reservations/{id}/commit', refund_reserve: 'post /ledger/reservations/{id}/refund',
      get_monthly_usage: 'get /usage/monthly', get_top_spenders: 'get /usage/top-spenders',
      get_status: 'get /_status', get_schema: 'get /_schema',
      create_webhook_endpoint: 'post /webhooks/endpoints', list_webhook_endpoints: 'get /webhooks/endpoints',
      delete_webhook_endpoint: 'delete /webhooks/endpoints/{id}',
      list_webhook_deliveries: 'get /webhooks/endpoints/{id}/deliveries',
      replay_webhook_delivery: 'post /webhooks/deliveries/{id}/replay',
      start_channel_connection: 'post /channels/connect', disconnect_channel: 'delete /channels/{id}',
      create_api_key: 'post /keys', list_api_keys: 'get /keys', revoke_api_key: 'delete /keys/{id}',
    };
    const actual = Object.fromEntries(ops.map((o) => [o.op.operationId, `${o.method} ${o.path}`]));
    expect(actual).toEqual(expected);
  });

  it('exposes exactly the MCP tools of seed 001 and those added since, with sensible annotations', () => {
    const tools = ops.flatMap((o) => (o.op['x-mcp']?.tools ?? []).map((t: any) => ({ ...t, o })));
    expect(tools.map((t) => t.name).sort()).toEqual([...MCP_TOOLS].sort());
    for (const t of tools) {
      const a = t.annotations;
      expect(t.description, t.name).toBeTruthy();
      for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint']) {
        expect(typeof a?.[hint], `${t.name}.${hint}`).toBe('boolean');
      }
      if (t.o.method === 'get') expect(a, t.name).toMatchObject({ readOnlyHint: true, idempotentHint: true });
      if (['put', 'patch'].includes(t.o.method) || t.o.op['x-idempotent']) expect(a.idempotentHint, t.name).toBe(true);
      if (a.readOnlyHint) expect(a.destructiveHint, t.name).toBe(false);
      // exclude/require must name real arguments of the operation
      const body = jsonBodySchema(t.o);
      const args = new Set([...t.o.params.map((p: any) => p.name), ...Object.keys(body?.properties ?? {})]);
      for (const arg of [...(t.exclude ?? []), ...(t.require ?? [])]) expect(args, `${t.name} -> ${arg}`).toContain(arg);
    }
    const named = (pred: (a: any) => boolean) => tools.filter((t) => pred(t.annotations)).map((t) => t.name).sort();
    expect(named((a) => a.destructiveHint)).toEqual(['delete_workflow', 'detach_track', 'publish_video', 'schedule_video', 'update_workflow']);
    expect(named((a) => a.openWorldHint)).toEqual(['import_asset', 'publish_video', 'schedule_video']);
    const publish = byId.get('publish_video')!.op['x-mcp'].tools;
    expect(publish.find((t: any) => t.name === 'publish_video').exclude).toEqual(['when', 'local_time', 'time_zone']);
    expect(publish.find((t: any) => t.name === 'schedule_video').require).toEqual(['local_time']);
    expect(byId.get('update_render')!.op['x-mcp']).toBeUndefined();
  });

  it('routes every 4xx/5xx through a shared response whose body is the ErrorEnvelope', () => {
    for (const { op } of ops) {
      for (const [status, response] of Object.entries<any>(op.responses)) {
        if (!/^[45]\d\d$/.test(status)) continue;
        const where = `${op.operationId} ${status}`;
        expect(response.$ref, where).toMatch(/^#\/components\/responses\//);
        if (ERROR_RESPONSES[status]) expect(response.$ref, where).toBe(`#/components/responses/${ERROR_RESPONSES[status]}`);
        expect(deref(response).content['application/json'].schema.$ref, where).toBe('#/components/schemas/ErrorEnvelope');
      }
      // What the runtime can answer for any operation: invalid input (400, including a malformed
      // body on an operation that takes none), a body too large (413) or of a type it does not
      // read (415), rate limiting (429) and an internal error (500).
      expect(Object.keys(op.responses), op.operationId).toEqual(expect.arrayContaining(['400', '413', '415', '429', '500']));
      if (op.security === undefined) expect(Object.keys(op.responses), op.operationId).toContain('401');
    }
    // Answers sent before an operation is chosen (src/http/client-error.ts, the router's fallback).
    expect(Object.keys(spec['x-edge-responses'].responses).sort()).toEqual(['204', '400', '404', '405', '408', '413', '431']);
    for (const [status, response] of Object.entries<any>(spec['x-edge-responses'].responses)) {
      if (status === '204') expect(response.headers.Allow, 'OPTIONS answer').toBeDefined();
      else expect(response.$ref, `edge ${status}`).toBe(`#/components/responses/${ERROR_RESPONSES[status]}`);
    }
    for (const [name, response] of Object.entries<any>(spec.components.responses)) {
      expect(response.content['application/json'].schema.$ref, name).toBe('#/components/schemas/ErrorEnvelope');
    }
    expect(spec.components.responses.TooManyRequests.headers['Retry-After']).toBeDefined();
    const error = spec.components.schemas.Error;
    expect(error.required).toEqual(['code', 'message', 'request_id']);
    expect(error.additionalProperties).toBe(true);
    expect(spec.components.schemas.ErrorEnvelope.required).toEqual(['error']);
  });

  it('names a real operation, parameters and job fields in every x-async-job', () => {
    const jobs = ops.filter((o) => o.op['x-async-job']);
    expect(jobs.map((o) => o.op.operationId).sort()).toEqual(['create_render', 'generate_scene', 'publish_video']);
    for (const o of jobs) {
      const job = o.op['x-async-job'];
      const poller = byId.get(job.poll);
      expect(poller, `${o.op.operationId} polls ${job.poll}`).toBeDefined();
      const [status, response] = successResponses(o)[0]!;
      expect(status).toBe('202');
      const body = deref(deref(response).content['application/json'].schema);
      for (const [param, field] of Object.entries<string>(job.args)) {
        expect(poller!.params.map((p) => p.name), `${job.poll} param ${param}`).toContain(param);
        expect(Object.keys(body.properties), `${o.op.operationId} body field ${field}`).toContain(field);
      }
      const [, pollResponse] = successResponses(poller!)[0]!;
      const pollBody = deref(deref(pollResponse).content['application/json'].schema);
      const statusSchema = deref(pollBody.properties[job.status_field]);
      expect(statusSchema.enum, `${job.poll}.${job.status_field}`).toEqual(expect.arrayContaining(job.terminal));
    }
  });

  it('declares Idempotency-Key on every x-idempotent operation, and marks every creating or paid POST', () => {
    for (const o of ops) {
      const hasKey = o.params.some((p) => p.in === 'header' && p.name === 'Idempotency-Key');
      expect(hasKey, o.op.operationId).toBe(o.op['x-idempotent'] === true);
    }
    for (const id of MUST_BE_IDEMPOTENT) expect(byId.get(id)!.op['x-idempotent'], id).toBe(true);
    const key = spec.components.parameters.IdempotencyKey;
    expect(key).toMatchObject({ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', minLength: 1, maxLength: 255 } });
  });

  it('flags credit-charging operations and scopes', () => {
    expect(ops.filter((o) => o.op['x-charges-credits']).map((o) => o.op.operationId).sort()).toEqual(['create_render', 'generate_scene']);
    const scoped = Object.fromEntries(ops.filter((o) => o.op['x-scopes']).map((o) => [o.op.operationId, o.op['x-scopes']]));
    expect(scoped).toEqual({
      connect_channel: ['admin'], get_top_spenders: ['admin'],
      reserve_credits: ['ledger:write'], commit_reserve: ['ledger:write'], refund_reserve: ['ledger:write'],
    });
  });

  it('secures everything with bearerAuth except _status, _schema and the token-carrying upload PUT', () => {
    expect(spec.security).toEqual([{ bearerAuth: [] }]);
    expect(spec.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    const publicOps = ops.filter((o) => Array.isArray(o.op.security) && o.op.security.length === 0);
    expect(publicOps.map((o) => o.op.operationId).sort()).toEqual(['get_schema', 'get_status', 'put_upload']);
  });

  it('paginates every list with limit + cursor and answers {data, next_cursor, has_more}', () => {
    const paged = ops.filter((o) => o.op['x-pagination']);
    expect(paged.map((o) => o.op.operationId).sort()).toEqual([
      'get_ledger', 'list_all_renders', 'list_api_keys', 'list_renders', 'list_webhook_deliveries', 'list_webhook_endpoints', 'list_workflows',
    ]);
    for (const o of paged) {
      expect(o.op['x-pagination']).toBe('cursor');
      const refs = (o.op.parameters ?? []).map((p: any) => p.$ref);
      expect(refs, o.op.operationId).toEqual(expect.arrayContaining(['#/components/parameters/Limit', '#/components/parameters/Cursor']));
      const [, response] = successResponses(o)[0]!;
      const body = deref(deref(response).content['application/json'].schema);
      expect(body.required, o.op.operationId).toEqual(expect.arrayContaining(['data', 'next_cursor', 'has_more']));
      expect(body.properties.data.type).toBe('array');
      expect(body.properties.next_cursor.type).toEqual(['string', 'null']);
    }
    expect(spec.components.parameters.Limit.schema).toEqual({ type: 'integer', minimum: 1, maximum: 100, default: 20 });
  });

  it('uses named component schemas for bodies and rejects unknown request fields', () => {
    for (const o of ops) {
      if (o.op.requestBody) {
        for (const [type, media] of Object.entries<any>(deref(o.op.requestBody).content)) {
          if (type !== 'application/json') continue;
          expect(media.schema.$ref, `${o.op.operationId} request`).toMatch(/^#\/components\/schemas\//);
          expect(deref(media.schema).additionalProperties, `${o.op.operationId} request`).toBe(false);
          expect(media.example ?? media.examples, `${o.op.operationId} request example`).toBeDefined();
        }
      }
      for (const [status, response] of successResponses(o)) {
        const media = deref(response).content?.['application/json'];
        if (!media) continue;
        expect(media.schema.$ref, `${o.op.operationId} ${status}`).toMatch(/^#\/components\/schemas\//);
        expect(media.example ?? media.examples, `${o.op.operationId} ${status} example`).toBeDefined();
      }
    }
    const upload = deref(byId.get('put_upload')!.op.requestBody).content;
    expect(upload['application/octet-stream'].schema).toEqual({ type: 'string', format: 'binary' });
  });

  it('supports optimistic concurrency on update_workflow', () => {
    const update = byId.get('update_workflow')!;
    expect(update.params.some((p) => p.in === 'header' && p.name === 'If-Match')).toBe(true);
    expect(jsonBodySchema(update).properties.version.type).toBe('integer');
    expect(update.op.responses['412'].$ref).toBe('#/components/responses/PreconditionFailed');
    expect(deref(update.op.responses['200']).headers.ETag).toBeDefined();
  });
});
