/**
 * Large request bodies: how long an attempt that sends one may take, and sending a file to an
 * upload slot in one call. A Blob (a File, or Node's `fs.openAsBlob(path)`) and a ReadableStream
 * go to fetch as they are, so the file is read as it is sent, never held in memory whole.
 * Part of the SDK runtime (see index.ts): only web-standard globals (fetch, Web Crypto) and sibling files may be used.
 */

/** A file's bytes as the SDK sends them. */
export type UploadBody = Blob | ReadableStream<Uint8Array> | Uint8Array | ArrayBuffer | string;

/** The size of a body in bytes, when it can be known without reading it. */
export function bodySize(body: unknown): number | null {
  if (body instanceof Blob) return body.size;
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) return body.byteLength;
  if (typeof body === 'string') return new TextEncoder().encode(body).byteLength;
  return null;
}

/**
 * The clock of one attempt: aborts its signal `ms` after it was (re)started. An attempt's
 * timeout bounds it from sending to the answer's last byte; a streamed body restarts the clock
 * with every chunk fetch takes from it, so a long upload is bounded by its progress, not its size.
 */
export class AttemptTimer {
  readonly #controller = new AbortController();
  #handle: ReturnType<typeof setTimeout> | undefined;
  readonly signal: AbortSignal = this.#controller.signal;

  constructor(readonly ms: number) {
    this.restart();
  }

  restart(): void {
    if (this.signal.aborted) return;
    clearTimeout(this.#handle);
    this.#handle = setTimeout(() => this.#controller.abort(new DOMException('the attempt timed out', 'TimeoutError')), this.ms);
  }

  clear(): void {
    clearTimeout(this.#handle);
  }
}

/** `source` as fetch reads it, restarting `timer()`'s clock on every chunk taken. */
export function progressStream(source: ReadableStream<Uint8Array>, timer: () => AttemptTimer | undefined): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      timer()?.restart();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

let lengthStreams: boolean | undefined;

/**
 * Whether this fetch can send a stream with a declared Content-Length (Node, Deno, Bun; not a
 * browser, which drops the header and streams only over HTTP/2). Where it can, a Blob is sent as
 * its stream: Node's fetch would otherwise read the whole Blob into memory before sending it.
 */
export function streamsWithLength(): boolean {
  if (lengthStreams === undefined) {
    try {
      const init = { method: 'PUT', body: new ReadableStream(), headers: { 'content-length': '0' }, duplex: 'half' };
      lengthStreams = new Request('http://localhost/', init as RequestInit).headers.get('content-length') === '0';
    } catch {
      lengthStreams = false;
    }
  }
  return lengthStreams;
}

/** What the generated helper tells the runtime: the operation that receives the file, and how the slot feeds it. */
export interface UploadSlotSpec {
  /** operationId that receives the bytes. */
  send: string;
  /** The slot-opening argument that takes the file's size, if any. */
  size: string | null;
  /** The slot-opening argument that takes the file's name (a File's), if any. */
  filename: string | null;
  /** send's argument -> field of the slot. */
  args: Record<string, string>;
  /** send's argument that is the body. */
  bodyArg: string;
}
