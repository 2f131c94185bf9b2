export {
  enqueue, claim, claimBatch, heartbeat, completeJob, completeAndClaim, failJob, reapExpiredLeases, cancelJob, lockJob, getJob, queueDepth,
  backoffMs,
  type Job, type FailureHook, type JobFailure,
} from './queue.js';
export {
  Worker, PermanentJobError,
  type WorkerOptions, type JobContext, type HandlerEntry,
} from './worker.js';
export { jobWaits, type JobWait } from './waits.js';
