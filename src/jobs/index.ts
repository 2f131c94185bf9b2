export {
  enqueue, claim, claimBatch, heartbeat, completeJob, completeAndClaim, requeueJob, failJob, reapExpiredLeases, cancelJob, lockJob, getJob, queueDepth,
  backoffMs, toJob, DEFAULT_MAX_ATTEMPTS,
  type Job, type JobStatus, type EnqueueInput, type ClaimOptions, type FailureHook, type FailureReason, type JobFailure,
} from './queue.js';
export {
  Worker, PermanentJobError, isPermanent,
  type WorkerOptions, type JobContext, type JobHandler, type HandlerEntry, type WorkerLogger,
} from './worker.js';
export { onLocalEnqueue, listenForJobs, JOBS_CHANNEL, type JobListener } from './wake.js';
