/**
 * The user's yes before a call that spends credits or posts publicly (the tool's generated
 * `confirm` policy). A client that supports elicitation is asked to show the user the price or
 * the target and let them decide; declining sends nothing. A client that cannot ask must pass
 * `confirm: true`, which the tool's description tells the agent to do only after the user said yes.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { CallToolResult, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { mcpTools, toolRequest, type McpToolDefinition } from '../../../generated/mcp.gen.js';
import type { ApiClient } from '../../../generated/sdk-runtime.gen.js';
import { errorResult } from './errors.js';

export const CONFIRM_ARG = 'confirm';

type Args = Record<string, unknown>;

/** Whether this call needs a yes: always for the tool's policy, except a spend capped at 0. */
export function needsConfirmation(tool: McpToolDefinition, args: Args): boolean {
  if (!tool.confirm) return false;
  const { limitArg } = tool.confirm;
  if (limitArg) return typeof args[limitArg] === 'number' && (args[limitArg] as number) > 0;
  return true;
}

/**
 * Null when the call may go ahead; otherwise the result to answer instead (declined, or
 * `confirm: true` missing). Nothing is sent to the operation before this returns null.
 */
export async function confirmCall(
  server: Server, client: ApiClient<any>, tool: McpToolDefinition, args: Args,
  { signal, stopping }: { signal: AbortSignal; stopping?: AbortSignal }, relatedRequestId?: RequestId,
): Promise<CallToolResult | null> {
  if (!needsConfirmation(tool, args)) return null;
  const summary = await describeCall(client, tool, args, signal);
  if (server.getClientCapabilities()?.elicitation) {
    let answer: Awaited<ReturnType<Server['elicitInput']>>;
    try {
      answer = await server.elicitInput(
        {
          message: `${summary}\nGo ahead?`,
          requestedSchema: {
            type: 'object',
            properties: { confirm: { type: 'boolean', title: 'Go ahead', description: summary } },
            required: ['confirm'],
          },
        },
        // Over Streamable HTTP the question goes out on the tool call's own response stream.
        { signal: stopping ? AbortSignal.any([signal, stopping]) : signal, relatedRequestId },
      );
    } catch (err) {
      if (signal.aborted) throw err; // the call itself was cancelled: nobody is waiting for a result
      if (stopping?.aborted) {
        // The server is shutting down: the answer could not reach it any more. Without this, the
        // question held the shutdown, or the call's stream closed with no answer to it.
        return errorResult({
          error: { code: 'confirmation_failed', message: `The server restarted before the user answered. ${summary} Nothing was sent.`, status: 0, request_id: null },
          next_step: `Nothing was done or charged. Call ${tool.name} again with the same arguments; the user will be asked again.`,
        });
      }
      // The client answered the question with an error, an answer that does not fit it, or not
      // in time. That is no yes, and it is the client's doing: a tool result saying so, not the
      // -32603 Internal error (or -32602) the tool call used to fail with.
      return errorResult({
        error: { code: 'confirmation_failed', message: `The user's answer could not be had: ${err instanceof Error ? err.message : String(err)}. ${summary} Nothing was sent.`, status: 0, request_id: null },
        next_step: `Nothing was done or charged. Ask the user whether to go ahead; if they say yes, call ${tool.name} again with the same arguments (they will be asked again).`,
      });
    }
    if (answer.action === 'accept' && answer.content?.confirm === true) return null;
    return errorResult({
      error: { code: 'declined', message: `The user did not approve: ${summary} Nothing was sent.`, status: 0, request_id: null, action: answer.action },
      next_step: 'Nothing was done or charged. Ask the user what they would like to change; do not call it again unless they ask.',
    });
  }
  if (args[CONFIRM_ARG] === true) return null;
  return errorResult({
    error: { code: 'confirmation_required', message: `This needs the user's yes first: ${summary} Nothing was sent.`, status: 0, request_id: null, arguments: [CONFIRM_ARG] },
    next_step: `Tell the user exactly this: "${summary}" If they say yes, call ${tool.name} again with the same arguments and ${CONFIRM_ARG}: true.`,
  });
}

/** One sentence with what the call does and what it costs or where it goes, from the live data. */
async function describeCall(client: ApiClient<any>, tool: McpToolDefinition, args: Args, signal: AbortSignal): Promise<string> {
  const read = async (name: string, input: Args): Promise<any> => {
    const other = mcpTools.find((t) => t.name === name);
    if (!other) return null;
    try {
      return (await client.requestWithResponse(other.operationId, toolRequest(other, input), { signal })).body;
    } catch {
      return null; // the call itself will report what is wrong
    }
  };
  const workflow = typeof args.id === 'string' ? await read('get_workflow', { id: args.id }) : null;
  const named = workflow?.name ? `"${workflow.name}" (${args.id})` : String(args.id ?? 'the workflow');
  if (tool.confirm?.reason === 'posts_publicly') {
    const channels = await read('list_channels', {});
    const channel = channels?.data?.find((c: any) => c.id === args.channel_id);
    const target = channel ? `${channel.name} (${channel.platform}, ${channel.id})` : `channel ${String(args.channel_id)}`;
    const when = args.when ?? args.local_time;
    const at = when ? `at ${String(when)}${args.time_zone ? ` ${String(args.time_zone)}` : ''}` : 'now';
    const title = args.title ? ` titled "${String(args.title)}"` : '';
    return `Post the video of ${named}${title} publicly to ${target} ${at}.`;
  }
  const estimate = typeof args.id === 'string' ? await read('estimate_cost', { id: args.id, ...(typeof args.node_id === 'string' ? { node_id: args.node_id } : {}) }) : null;
  const price = typeof estimate?.remaining === 'number' ? `${estimate.remaining} credits` : 'credits';
  const available = typeof estimate?.available_credits === 'number' ? ` (${estimate.available_credits} available)` : '';
  const { limitArg } = tool.confirm ?? {};
  if (limitArg) return `Run ${tool.name} on ${named}, spending up to ${String(args[limitArg])} credits; the scenes still to generate cost ${price}${available}.`;
  const scope = typeof args.node_id === 'string' ? `scene ${args.node_id} of ${named}` : `every scene of ${named} not yet generated`;
  return `Generate ${scope} for ${price}${available}.`;
}
