/**
 * Provider interfaces. The built-in `local` providers (local-image.ts, local-video.ts, rubric.ts)
 * make real media with ffmpeg; remote AI providers plug in behind the same shapes.
 */

/** Optional context a caller may pass along; providers may ignore it (FailingProvider uses it). */
export interface ProviderCallContext {
  /** 0-based index of the scene in its workflow. */
  sceneIndex?: number;
  nodeId?: string;
  signal?: AbortSignal;
}

export interface GenerateImageRequest extends ProviderCallContext, TaskMemory {
  prompt: string;
  width: number;
  height: number;
  /** Where to write the PNG. */
  outPath: string;
}

export interface GeneratedImage {
  path: string;
  width: number;
  height: number;
}

export interface TextToImageProvider {
  readonly name: string;
  generateImage(req: GenerateImageRequest): Promise<GeneratedImage>;
}

/**
 * A remote provider's task, remembered by the caller before it waits, so that a run after a crash
 * polls the same task instead of paying for a second one.
 */
export interface RemoteTask {
  /** The model id that owns the task (`runway:gen4_turbo`). */
  model: string;
  id: string;
}

/** What remote providers need to survive a crash between submitting and collecting a task. */
export interface TaskMemory {
  /** The task an earlier run of this call submitted, if any. */
  resume?: RemoteTask | null;
  /** Called once the provider accepted a task, before waiting for it; the caller stores it. */
  onSubmitted?: (task: RemoteTask) => Promise<void>;
}

export interface GenerateClipRequest extends ProviderCallContext, TaskMemory {
  imagePath: string;
  prompt: string;
  durationS: number;
  width: number;
  height: number;
  /** Where to write the MP4 (H.264 + AAC, with native audio). */
  outPath: string;
}

export interface GeneratedClip {
  path: string;
  durationS: number;
  width: number;
  height: number;
  hasAudio: boolean;
}

export interface ImageToVideoProvider {
  readonly name: string;
  generateClip(req: GenerateClipRequest): Promise<GeneratedClip>;
}

export type RubricCheck =
  | 'missing_video'
  | 'missing_audio'
  | 'wrong_duration'
  | 'wrong_resolution'
  | 'black_frames'
  | 'frozen_frames'
  | 'silence'
  | (string & {});

export interface ReviewFailure {
  check: RubricCheck;
  message: string;
  /** Where the defect starts, in seconds from the start of the media. */
  at_s?: number;
  /** How long it lasts, when it is a stretch. */
  duration_s?: number;
}

export interface ReviewRequest extends ProviderCallContext {
  videoPath: string;
  /** What the clip was asked to show (vision reviewers judge against it). */
  prompt?: string;
  /**
   * Stills of the workflow's other scenes, for identity drift: does the same character look the
   * same? Paths to PNG/JPEG files.
   */
  referenceFrames?: string[];
  expectedDurationS?: number;
  expectAudio: boolean;
  expectedWidth?: number;
  expectedHeight?: number;
}

export interface VisionReviewProvider {
  readonly name: string;
  review(req: ReviewRequest): Promise<{ failures: ReviewFailure[] }>;
}

// ---------------------------------------------------------------------------------------------
// Provider errors

/**
 * A provider failure. `transient` tells a job system whether running the same call again soon may
 * help; `retryable` tells the user whether asking again (a new generation) may: a content-policy
 * refusal is neither, a task that outlived its deadline is not transient but is retryable.
 */
export class ProviderError extends Error {
  readonly provider: string;
  readonly transient: boolean;
  readonly retryable: boolean;
  readonly code: string;

  constructor(provider: string, message: string, opts: { transient: boolean; retryable?: boolean; code?: string; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ProviderError';
    this.provider = provider;
    this.transient = opts.transient;
    this.retryable = opts.retryable ?? opts.transient;
    this.code = opts.code ?? (opts.transient ? 'provider_unavailable' : 'provider_rejected');
  }
}

export class TransientProviderError extends ProviderError {
  constructor(provider: string, message: string, cause?: unknown) {
    super(provider, message, { transient: true, cause });
    this.name = 'TransientProviderError';
  }
}

export class PermanentProviderError extends ProviderError {
  constructor(provider: string, message: string, cause?: unknown) {
    super(provider, message, { transient: false, cause });
    this.name = 'PermanentProviderError';
  }
}

// ---------------------------------------------------------------------------------------------
// FailingProvider: explicit, configured failures for tests and demos (never prompt-triggered).

export interface FailureConfig {
  /** Fail every call. */
  always?: boolean;
  /** Fail these calls, 1-based, counted across all calls of the wrapper. */
  calls?: number[];
  /** Fail the first N calls, then succeed (a transient outage). */
  firstCalls?: number;
  /** Fail calls whose request carries one of these 0-based scene indexes. */
  sceneIndexes?: number[];
  /** Fail calls whose request carries one of these node ids. */
  nodeIds?: string[];
  /** Error class thrown: transient (retry may help) or permanent. Default permanent. */
  kind?: 'transient' | 'permanent';
  /** Message of the thrown error. */
  message?: string;
}

type AnyProvider = Partial<TextToImageProvider & ImageToVideoProvider & VisionReviewProvider> & { readonly name: string };

/**
 * Wraps a provider and fails the calls its configuration selects; other calls are delegated.
 * The instance implements all three interfaces, so it can stand wherever the wrapped provider
 * stood (calling a method the wrapped provider lacks throws).
 */
export class FailingProvider implements TextToImageProvider, ImageToVideoProvider, VisionReviewProvider {
  readonly name: string;
  /** Calls seen so far, failed or not. */
  calls = 0;
  /** Calls failed so far. */
  failures = 0;

  constructor(
    readonly inner: AnyProvider,
    readonly config: FailureConfig,
  ) {
    this.name = inner.name;
    const { calls, firstCalls, sceneIndexes, nodeIds, always } = config;
    if (!always && !calls?.length && !firstCalls && !sceneIndexes?.length && !nodeIds?.length) {
      throw new Error('FailingProvider: configure at least one of always, calls, firstCalls, sceneIndexes, nodeIds');
    }
  }

  /** Whether call number `callNo` (1-based) with this context is configured to fail. */
  selects(callNo: number, ctx: ProviderCallContext): boolean {
    const c = this.config;
    if (c.always) return true;
    if (c.calls?.includes(callNo)) return true;
    if (c.firstCalls !== undefined && callNo <= c.firstCalls) return true;
    if (ctx.sceneIndex !== undefined && c.sceneIndexes?.includes(ctx.sceneIndex)) return true;
    if (ctx.nodeId !== undefined && c.nodeIds?.includes(ctx.nodeId)) return true;
    return false;
  }

  private gate(ctx: ProviderCallContext, op: string): void {
    const callNo = ++this.calls;
    if (!this.selects(callNo, ctx)) return;
    this.failures++;
    const where = ctx.sceneIndex !== undefined ? ` (scene ${ctx.sceneIndex})` : ctx.nodeId ? ` (node ${ctx.nodeId})` : '';
    const message = this.config.message ?? `configured failure of ${this.name}.${op} on call ${callNo}${where}`;
    throw this.config.kind === 'transient'
      ? new TransientProviderError(this.name, message)
      : new PermanentProviderError(this.name, message);
  }

  async generateImage(req: GenerateImageRequest): Promise<GeneratedImage> {
    if (!this.inner.generateImage) throw new Error(`${this.name} does not generate images`);
    this.gate(req, 'generateImage');
    return this.inner.generateImage(req);
  }

  async generateClip(req: GenerateClipRequest): Promise<GeneratedClip> {
    if (!this.inner.generateClip) throw new Error(`${this.name} does not generate clips`);
    this.gate(req, 'generateClip');
    return this.inner.generateClip(req);
  }

  async review(req: ReviewRequest): Promise<{ failures: ReviewFailure[] }> {
    if (!this.inner.review) throw new Error(`${this.name} does not review`);
    this.gate(req, 'review');
    return this.inner.review(req);
  }
}

/**
 * Parse a failure spec such as `always`, `calls=2,3`, `first=2;kind=transient`,
 * `scenes=1;kind=permanent;message=upstream said no` (for configuration / demos).
 */
export function parseFailureSpec(spec: string): FailureConfig {
  const config: FailureConfig = {};
  const ints = (v: string) =>
    v.split(',').map((s) => {
      const n = Number(s.trim());
      if (!Number.isInteger(n) || n < 0) throw new Error(`failure spec: not an index: ${s}`);
      return n;
    });
  for (const part of spec.split(';').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    switch (key) {
      case 'always': config.always = true; break;
      case 'calls': config.calls = ints(value); break;
      case 'first': config.firstCalls = ints(value)[0]; break;
      case 'scenes': config.sceneIndexes = ints(value); break;
      case 'nodes': config.nodeIds = value.split(',').map((s) => s.trim()).filter(Boolean); break;
      case 'kind':
        if (value !== 'transient' && value !== 'permanent') throw new Error(`failure spec: kind must be transient or permanent`);
        config.kind = value;
        break;
      case 'message': config.message = value; break;
      default: throw new Error(`failure spec: unknown key ${key}`);
    }
  }
  return config;
}
