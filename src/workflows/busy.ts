import type { Db } from '../db/knex.js';

/**
 * A workflow that is generating or rendering may not be edited or deleted (409 workflow_busy).
 * Scene generation is checked here; modules with their own long-running work on a workflow
 * (renders, ...) register a check that returns a reason, or null when it is idle.
 */
export type BusyCheck = (db: Db, workflowId: string) => Promise<string | null>;

export const workflowBusyChecks: BusyCheck[] = [
  async (db, workflowId) => {
    const row = await db('workflow_scenes').where({ workflow_id: workflowId, status: 'generating' }).first('node_id');
    return row ? 'a generation of its scenes is still running' : null;
  },
];

export function registerBusyCheck(check: BusyCheck): void {
  if (!workflowBusyChecks.includes(check)) workflowBusyChecks.push(check);
}

export async function busyReason(db: Db, workflowId: string): Promise<string | null> {
  for (const check of workflowBusyChecks) {
    const reason = await check(db, workflowId);
    if (reason) return reason;
  }
  return null;
}
