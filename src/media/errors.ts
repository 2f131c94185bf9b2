export type MediaErrorCode =
  | 'binary_missing'
  | 'ffmpeg_failed'
  | 'probe_failed'
  | 'timeout'
  | 'aborted'
  | 'invalid_input';

export interface MediaErrorDetails {
  stderrTail?: string;
  exitCode?: number | null;
  args?: string[];
  cause?: unknown;
}

/** Any failure of the media library. `stderrTail` holds the last lines ffmpeg printed. */
export class MediaError extends Error {
  readonly code: MediaErrorCode;
  readonly stderrTail?: string;
  readonly exitCode?: number | null;
  readonly args?: string[];

  constructor(code: MediaErrorCode, message: string, details: MediaErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MediaError';
    this.code = code;
    this.stderrTail = details.stderrTail;
    this.exitCode = details.exitCode;
    this.args = details.args;
  }
}
