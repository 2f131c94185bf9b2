import fs from 'node:fs';
import { Readable } from 'node:stream';
import { boundedText } from '../net/bounded-text.js';
import { PublishError } from './types.js';

/** The platforms answer small JSON documents; more than this is not an answer we can use. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** A short, credential-free description of a platform's refusal, for the publication's error. */
export function describeFailure(platform: string, step: string, res: HttpResponse): string {
  const excerpt = res.text.replace(/\s+/g, ' ').slice(0, 300);
  return `${platform} ${step} failed with HTTP ${res.status}${excerpt ? `: ${excerpt}` : ''}`;
}

/**
 * One HTTP exchange with a platform. A network failure or timeout becomes a PublishError;
 * `beforeUpload` marks failures that happened before any video bytes were accepted (retryable).
 */
export async function send(
  platform: string,
  step: string,
  url: string,
  init: RequestInit & { timeoutMs: number; beforeUpload: boolean },
): Promise<HttpResponse> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(init.timeoutMs) });
  } catch (err) {
    throw new PublishError(`${platform} ${step} failed: ${(err as Error).message}`, init.beforeUpload);
  }
  let text: string | null;
  try {
    text = await boundedText(res, MAX_ANSWER_BYTES);
  } catch (err) {
    throw new PublishError(`${platform} ${step} failed while reading the answer: ${(err as Error).message}`, init.beforeUpload);
  }
  if (text === null) throw new PublishError(`${platform} ${step} answered HTTP ${res.status} with more than ${MAX_ANSWER_BYTES} bytes`, false, res.status);
  return { status: res.status, headers: res.headers, text };
}

export function json<T>(platform: string, step: string, res: HttpResponse): T {
  try {
    return JSON.parse(res.text) as T;
  } catch {
    throw new PublishError(`${platform} ${step} answered HTTP ${res.status} with a body that is not JSON`, false, res.status);
  }
}

/** A byte range of a file as a streaming request body (fetch needs `duplex: 'half'` for it). */
export function fileBody(path: string, start: number, endInclusive: number): { body: NonNullable<RequestInit['body']>; duplex: 'half' } {
  const stream = fs.createReadStream(path, { start, end: endInclusive });
  return { body: Readable.toWeb(stream) as unknown as NonNullable<RequestInit['body']>, duplex: 'half' };
}

/** Server errors and throttling are worth retrying; other refusals are not. */
export function transient(status: number): boolean {
  return status === 429 || status >= 500;
}
