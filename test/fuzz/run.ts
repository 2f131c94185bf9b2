/**
 * The fuzz's request loop: `budget` requests made from the spec and sent to the server, `inFlight`
 * at a time, each answer judged and its new ids harvested. With one in flight a seed replays the
 * same requests; with more, which request goes out next depends on which answers came back first,
 * so a seed names the run's values, not its order.
 */
import type { TestServer } from '../helpers/server.js';
import { judge, send } from './check.js';
import type { Harvest } from './harvest.js';
import type { OperationSpec, RequestContext, RequestMaker } from './requests.js';

export interface FuzzTally {
  sent: number;
  /** Answers by status. */
  statuses: Map<number, number>;
  /** Operations that answered some valid request with a 2xx. */
  succeeded: Set<string>;
  problems: string[];
}

export function emptyTally(): FuzzTally {
  return { sent: 0, statuses: new Map(), succeeded: new Set(), problems: [] };
}

export async function fuzzRequests(
  s: TestServer, edge: Record<string, unknown>, parts: { maker: RequestMaker; harvest: Harvest; ctx: RequestContext; ops: OperationSpec[] },
  budget: number, inFlight: number, tally: FuzzTally,
): Promise<void> {
  const { maker, harvest, ctx, ops } = parts;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < budget) {
      const i = next++;
      const req = maker.make(ops[i % ops.length]!);
      const answer = await send(s.origin, '/v1', req);
      if (!answer) continue; // Node refused to put that header on the wire
      tally.sent++;
      tally.statuses.set(answer.status, (tally.statuses.get(answer.status) ?? 0) + 1);
      if (answer.status < 300 && !req.offRoute) tally.succeeded.add(req.op.id);
      if (!req.offRoute) harvest.take(req.op.id, answer.status, answer.text);
      const cursor = answer.status === 200 && /"next_cursor":"([^"]+)"/.exec(answer.text)?.[1];
      if (cursor) ctx.cursors.set(req.op.id, [...(ctx.cursors.get(req.op.id) ?? []).slice(-4), cursor]);
      const problem = judge(req, answer, edge);
      if (problem) tally.problems.push(`#${i} ${req.op.id} [${req.mutation}] ${req.method} ${req.path.slice(0, 120)} -> ${problem} ${answer.text.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}
