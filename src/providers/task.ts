/**
 * The life of one remote task, the same for every provider: resume the task an earlier run
 * submitted (after a crash) or submit a new one and have the caller store its id before waiting,
 * then poll until it is done, failed or past its deadline.
 */
import { MediaError, type RemoteTask, type TaskMemory } from '../media/index.js';
import { pollUntil, ProviderHttpError, type ProviderClient } from './http.js';
import { monotonicNow } from '../db/cluster-time.js';

export interface TaskSteps<T> {
  client: ProviderClient;
  memory: TaskMemory;
  signal?: AbortSignal;
  pollMs: number;
  deadlineS: number;
  /** What is being made, for messages ("the clip"). */
  what: string;
  /** Submits the task; answers the provider's task id. */
  submit(deadlineAt: number): Promise<string>;
  /** One look at the task: its result when done, null while it runs; throws when it failed. */
  check(id: string, deadlineAt: number): Promise<T | null>;
}

/** The task and its result, and the deadline the download of the result must keep too. */
export async function runRemoteTask<T>(s: TaskSteps<T>): Promise<{ task: RemoteTask; result: T; deadlineAt: number }> {
  const model = s.client.provider;
  const deadlineAt = monotonicNow() + s.deadlineS * 1000;
  const poll = (id: string) => pollUntil({ pollMs: s.pollMs, deadlineAt, signal: s.signal, what: `${model}: ${s.what} (task ${id})`, client: s.client }, () => s.check(id, deadlineAt));
  const earlier = s.memory.resume?.model === model ? s.memory.resume : null;
  if (earlier) {
    try {
      return { task: earlier, result: await poll(earlier.id), deadlineAt };
    } catch (err) {
      // The provider no longer knows the task (expired, deleted): only then is a new one submitted.
      if (!(err instanceof ProviderHttpError && err.status === 404)) throw err;
    }
  }
  const id = await s.submit(deadlineAt);
  if (typeof id !== 'string' || !id) {
    throw s.client.fail(`${model} accepted the request but answered no task id`, { transient: false, retryable: true, code: 'provider_bad_response' });
  }
  const task = { model, id };
  await s.memory.onSubmitted?.(task);
  return { task, result: await poll(id), deadlineAt };
}

/** Words providers use for a refusal on content grounds (moderation, safety, policy). */
export const POLICY_WORDS = /moderation|content[ _-]?polic|safety|policy[ _-]?violation|nsfw|not allowed by our/i;

/** A delivery that does not probe as media: the provider's fault, not the prompt's. */
export function badDelivery(client: ProviderClient, err: unknown): unknown {
  if (err instanceof MediaError && err.code === 'invalid_input') {
    return client.fail(`${client.provider} delivered a file that is not usable media (${err.message})`, { transient: false, retryable: true, code: 'provider_bad_result', cause: err });
  }
  return err;
}
