/**
 * Renders: the final video of a workflow. start.ts freezes the plan and hands missing scenes to
 * generation; jobs.ts waits for them and stitches; finish.ts ends a render exactly once (and
 * releases what its generation still holds when it ends early).
 */
export { startRender, renderInProgress, RENDER_JOB, type RenderJobPayload, type StartRenderInput } from './start.js';
export { renderJobHandlers, onRenderFailed, type RenderJobDeps } from './jobs.js';
export { cancelRender, failRender, finishSucceeded, stopGeneration } from './finish.js';
export { planFrom, timelineOf, type PlanClip, type PlanTrack, type RenderPlan } from './plan.js';
export { renderStored } from './stored.js';
export {
  activeRender, findRender, getRenderById, latestFinishedRender, latestSucceededRender, listRenderRows, moneyFor, moneyOf,
  noFinishedRender, toRender, ACTIVE_RENDER,
  type RenderError, type RenderMoney, type RenderRow, type RenderStatus,
} from './store.js';
