/** Settings every remote adapter shares, and what get_status reports about a model. */
export interface RemoteSettings {
  /** Deadline of one image or clip, submission to download, seconds. */
  deadlineS: number;
  /** First wait between polls, ms. */
  pollMs: number;
  /** Largest result accepted. */
  maxBytes: number;
  /** Retry tuning of the HTTP client (tests shorten it). */
  http?: { timeoutMs?: number; idleTimeoutMs?: number; retries?: number; backoffMs?: number };
}

export interface VideoCapabilities {
  /** Lengths the model makes; a scene gets the shortest covering one, cut to the scene. */
  durations_s: number[];
  aspect_ratios: string[];
}
