/**
 * API errors -> tool results: every result is `isError` with the envelope and a next step an agent
 * can act on. Built from the SDK's own error parsing, so the inputs are what the server sends.
 */
import { describe, expect, it } from 'vitest';
import { mcpTools } from '../../generated/mcp.gen.js';
import { ConnectionError, errorFromResponse } from '../../generated/sdk-runtime.gen.js';
import { apiErrorResult } from '../../packages/mcp/src/errors.js';

const tool = (name: string) => mcpTools.find((t) => t.name === name)!;

function resultFor(name: string, status: number, error: Record<string, unknown>, headers: Record<string, string> = {}, pollTool: string | null = null) {
  const err = errorFromResponse(status, new Headers({ 'content-type': 'application/json', ...headers }), { error: { request_id: 'req_test', ...error } });
  const result = apiErrorResult(err, { tool: tool(name), tools: mcpTools, pollTool, baseUrl: 'http://localhost:8090/v1' });
  expect(result.isError).toBe(true);
  // The envelope is the last block (no structuredContent: that must match the success outputSchema).
  expect(result.structuredContent).toBeUndefined();
  const body = JSON.parse((result.content[1] as { text: string }).text) as { error: Record<string, unknown>; next_step: string };
  const text = (result.content[0] as { text: string }).text;
  expect(text).toContain(`Next step: ${body.next_step}`);
  return { body, text };
}

describe('tool error results', () => {
  it('insufficient_credits: needed and available, estimate_cost, fewer scenes', () => {
    const { body } = resultFor('generate_scene', 402, { code: 'insufficient_credits', message: 'Needs 30, has 8.', needed: 30, available: 8 });
    expect(body.error).toMatchObject({ code: 'insufficient_credits', status: 402, request_id: 'req_test', needed: 30, available: 8 });
    expect(body.next_step).toMatch(/needs 30 credits and 8 are available/);
    expect(body.next_step).toMatch(/estimate_cost/);
    expect(body.next_step).toMatch(/fewer scenes/);
  });

  it('not_found: the list tool for the resource', () => {
    expect(resultFor('get_render', 404, { code: 'not_found', message: 'x', resource: 'render', id: 'rnd_1' }).body.next_step).toMatch(/list_renders/);
    expect(resultFor('publish_video', 404, { code: 'not_found', message: 'x', resource: 'channel', id: 'ch_1' }).body.next_step).toMatch(/list_channels/);
    expect(resultFor('estimate_cost', 404, { code: 'not_found', message: 'x', resource: 'workflow', id: 'wf_1' }).body.next_step).toMatch(/list_workflows/);
    expect(resultFor('quality_check', 404, { code: 'not_found', message: 'x', resource: 'node', id: 'nd_1' }).body.next_step).toMatch(/get_workflow/);
  });

  it('validation_error from the server: issues by argument name', () => {
    const { body } = resultFor('create_workflow', 400, {
      code: 'validation_error', message: 'bad',
      issues: { body: [{ path: ['shots', 0, 'duration_s'], message: 'Must be at most 10.' }], header: [{ path: ['Idempotency-Key'], message: 'Too long.' }] },
    });
    expect(body.next_step).toContain('shots[0].duration_s: Must be at most 10;');
    expect(body.next_step).toContain('idempotency_key: Too long.');
    expect(body.next_step).not.toContain('..'); // each message's own full stop is not doubled
  });

  it('idempotency_key_reused: use a new key', () => {
    expect(resultFor('create_render', 409, { code: 'idempotency_key_reused', message: 'x' }).body.next_step).toMatch(/new idempotency_key/);
  });

  it('rate_limited: wait Retry-After seconds, retry with the same key', () => {
    const { body } = resultFor('generate_scene', 429, { code: 'rate_limited', message: 'slow down', retry_after: 7 }, { 'retry-after': '7' });
    expect(body.next_step).toMatch(/Wait 7 seconds/);
    expect(body.next_step).toMatch(/same idempotency_key/);
    const fromHeader = resultFor('list_workflows', 429, { code: 'rate_limited', message: 'slow down' }, { 'retry-after': '3' });
    expect(fromHeader.body.next_step).toMatch(/Wait 3 seconds/);
  });

  it('no_finished_render: create_render, then poll get_render', () => {
    expect(resultFor('schedule_video', 409, { code: 'no_finished_render', message: 'x' }).body.next_step).toMatch(/create_render.*get_render/);
  });

  it('in-progress conflicts: poll the status tool', () => {
    expect(resultFor('generate_scene', 409, { code: 'generation_in_progress', message: 'x' }, {}, 'get_generation_status').body.next_step).toMatch(/Poll get_generation_status/);
    expect(resultFor('create_render', 409, { code: 'render_in_progress', message: 'x' }, {}, 'get_render').body.next_step).toMatch(/Poll get_render/);
    expect(resultFor('update_workflow', 409, { code: 'workflow_busy', message: 'x' }).body.next_step).toMatch(/Poll get_generation_status/);
    expect(resultFor('create_render', 409, { code: 'conflict', message: 'x' }, {}, 'get_render').body.next_step).toMatch(/Poll get_render/);
  });

  it('not_implemented: say so, do not retry', () => {
    const { body } = resultFor('import_asset', 501, { code: 'not_implemented', message: 'x' });
    expect(body.next_step).toMatch(/not available on this server yet/);
    expect(body.next_step).toMatch(/will not help/);
  });

  it('an unknown code falls back on its status; a server failure says to retry with the key', () => {
    expect(resultFor('create_render', 500, { code: 'internal_error', message: 'x' }).body.next_step).toMatch(/Retry once with the same idempotency_key/);
    expect(resultFor('create_render', 409, { code: 'some_new_conflict', message: 'x' }, {}, 'get_render').body.next_step).toMatch(/get_render/);
  });

  it('no answer at all: names the base URL', () => {
    const err = new ConnectionError('GET http://localhost:8090/v1/_status failed: ECONNREFUSED', { code: 'connection_error' });
    const result = apiErrorResult(err, { tool: tool('get_status'), tools: mcpTools, pollTool: null, baseUrl: 'http://localhost:8090/v1' });
    expect(result.isError).toBe(true);
    expect(JSON.parse((result.content[1] as { text: string }).text).next_step).toMatch(/http:\/\/localhost:8090\/v1.*LAVENDLY_BASE_URL/);
  });
});
