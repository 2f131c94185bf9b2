/**
 * Renders: the final video of a workflow. start.ts freezes the plan and hands missing scenes to
 * generation; jobs.ts waits for them and stitches; finish.ts ends a render exactly once (and
 * releases what its generation still holds when it ends early).
 */
export { startRender } from './start.js';
export { renderJobHandlers } from './jobs.js';
export { cancelRender } from './finish.js';
export type { RenderPlan } from './plan.js';
export { renderStored } from './stored.js';
export {
  ACTIVE_RENDER, findRender, latestFinishedRender, listRenderRows, moneyFor, moneyOf, type RenderMoney, type RenderRow,
} from './store.js';
