/**
 * The built-in review: a media probe (streams, duration, resolution) plus defects measured on the
 * signal (black stretches, frozen stretches, silence where sound is expected), in one ffmpeg pass.
 */
import { runFfmpeg } from './binaries.js';
import { MediaError } from './errors.js';
import { probeMedia, type MediaProbe } from './probe.js';
import type { ReviewFailure, ReviewRequest, RubricCheck, VisionReviewProvider } from './providers.js';
import { withoutLocalPaths } from '../util/local-paths.js';

export interface RubricThresholds {
  /** Shortest black stretch reported, seconds (default 0.5). */
  blackMinS: number;
  /** Luma threshold of a black pixel, 0..1 (default 0.10). */
  blackPixelThreshold: number;
  /** Shortest frozen stretch reported, seconds (default 1.0; at most half the media). */
  freezeMinS: number;
  /** Frame difference under which frames count as identical, dB (default -60). */
  freezeNoiseDb: number;
  /** Shortest silence reported, seconds (default 1.0; at most half the media). */
  silenceMinS: number;
  /** Level under which audio counts as silence, dBFS (default -50). */
  silenceNoiseDb: number;
  /** Allowed duration error beyond one frame, seconds (default 0.1). */
  durationToleranceS: number;
}

export const DEFAULT_THRESHOLDS: RubricThresholds = {
  blackMinS: 0.5,
  blackPixelThreshold: 0.1,
  freezeMinS: 1.0,
  freezeNoiseDb: -60,
  silenceMinS: 1.0,
  silenceNoiseDb: -50,
  durationToleranceS: 0.1,
};

export interface RubricResult {
  pass: boolean;
  /** 1 = no defect; 0 = unusable. */
  score: number;
  failures: ReviewFailure[];
  /** Text an agent can append to the prompt of a reroll; null when the media passes. */
  reroll_hint: string | null;
  /** The probe the checks ran on (null when the file could not be probed). */
  probe: MediaProbe | null;
}

export interface Stretch {
  startS: number;
  endS: number;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Probe-level checks: streams present, duration and resolution as expected. */
export function probeChecks(
  probe: MediaProbe,
  req: Pick<ReviewRequest, 'expectedDurationS' | 'expectAudio' | 'expectedWidth' | 'expectedHeight'>,
  thresholds: Pick<RubricThresholds, 'durationToleranceS'> = DEFAULT_THRESHOLDS,
): ReviewFailure[] {
  const failures: ReviewFailure[] = [];
  if (!probe.hasVideo) failures.push({ check: 'missing_video', message: 'the file has no video stream' });
  if (req.expectAudio && !probe.hasAudio) failures.push({ check: 'missing_audio', message: 'the file has no audio stream' });
  if (req.expectedDurationS !== undefined) {
    const frame = 1 / (probe.fps && probe.fps < 1000 ? probe.fps : 25);
    const delta = probe.durationS - req.expectedDurationS;
    if (Math.abs(delta) > frame + thresholds.durationToleranceS) {
      failures.push({
        check: 'wrong_duration',
        message: `duration is ${round2(probe.durationS)} s, expected ${round2(req.expectedDurationS)} s (${delta > 0 ? '+' : ''}${round2(delta)} s)`,
        at_s: round2(Math.min(probe.durationS, req.expectedDurationS)),
      });
    }
  }
  if (
    probe.hasVideo &&
    ((req.expectedWidth !== undefined && probe.width !== req.expectedWidth) ||
      (req.expectedHeight !== undefined && probe.height !== req.expectedHeight))
  ) {
    failures.push({
      check: 'wrong_resolution',
      message: `resolution is ${probe.width}x${probe.height}, expected ${req.expectedWidth ?? probe.width}x${req.expectedHeight ?? probe.height}`,
    });
  }
  return failures;
}

/** Parse blackdetect / freezedetect / silencedetect output; open stretches end at `durationS`. */
export function parseDetections(stderr: string, durationS: number): { black: Stretch[]; frozen: Stretch[]; silent: Stretch[] } {
  const black: Stretch[] = [];
  for (const m of stderr.matchAll(/black_start:\s*([\d.]+)\s+black_end:\s*([\d.]+)/g)) {
    black.push({ startS: Number(m[1]), endS: Number(m[2]) });
  }
  const paired = (startRe: RegExp, endRe: RegExp): Stretch[] => {
    const events: { at: number; kind: 'start' | 'end'; pos: number }[] = [];
    for (const m of stderr.matchAll(startRe)) events.push({ at: Number(m[1]), kind: 'start', pos: m.index! });
    for (const m of stderr.matchAll(endRe)) events.push({ at: Number(m[1]), kind: 'end', pos: m.index! });
    events.sort((a, b) => a.pos - b.pos);
    const out: Stretch[] = [];
    let open: number | null = null;
    for (const e of events) {
      if (e.kind === 'start') open = e.at;
      else if (open !== null) {
        out.push({ startS: open, endS: e.at });
        open = null;
      }
    }
    if (open !== null) out.push({ startS: open, endS: Math.max(open, durationS) });
    return out;
  };
  const frozen = paired(/freeze_start:\s*(-?[\d.]+)/g, /freeze_end:\s*(-?[\d.]+)/g);
  const silent = paired(/silence_start:\s*(-?[\d.]+)/g, /silence_end:\s*(-?[\d.]+)/g);
  const clamp = (s: Stretch): Stretch => {
    const startS = Math.max(0, s.startS);
    const endS = durationS > 0 ? Math.min(s.endS, durationS) : s.endS;
    return { startS, endS: Math.max(startS, endS) };
  };
  return { black: black.map(clamp), frozen: frozen.map(clamp), silent: silent.map(clamp) };
}

/** Black, frozen and silent stretches of a file, measured in one decoding pass. */
export async function detectStretches(
  videoPath: string,
  probe: MediaProbe,
  opts: { expectAudio: boolean; thresholds?: Partial<RubricThresholds>; signal?: AbortSignal; timeoutMs?: number },
): Promise<{ black: Stretch[]; frozen: Stretch[]; silent: Stretch[]; minFreezeS: number; minSilenceS: number }> {
  const t = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
  const half = Math.max(0.2, probe.durationS / 2);
  const minFreezeS = Math.min(t.freezeMinS, half);
  const minSilenceS = Math.min(t.silenceMinS, half);
  const args = ['-nostats', '-i', videoPath];
  if (probe.hasVideo) {
    args.push(
      '-map', '0:v:0',
      '-vf', `blackdetect=d=${t.blackMinS}:pix_th=${t.blackPixelThreshold},freezedetect=n=${t.freezeNoiseDb}dB:d=${minFreezeS}`,
    );
  }
  const listenAudio = opts.expectAudio && probe.hasAudio;
  if (listenAudio) args.push('-map', '0:a:0', '-af', `silencedetect=n=${t.silenceNoiseDb}dB:d=${minSilenceS}`);
  if (!probe.hasVideo && !listenAudio) return { black: [], frozen: [], silent: [], minFreezeS, minSilenceS };
  args.push('-f', 'null', '-');
  const { stderr } = await runFfmpeg(args, { signal: opts.signal, timeoutMs: opts.timeoutMs ?? 10 * 60_000 });
  return { ...parseDetections(stderr, probe.durationS), minFreezeS, minSilenceS };
}

const HINTS: Record<string, string> = {
  missing_video: 'Produce a real moving picture: the previous output had no video.',
  missing_audio: 'Include a native soundtrack (ambient sound, effects or music) with the clip.',
  wrong_duration: 'Match the requested duration exactly.',
  wrong_resolution: 'Render at the requested resolution and aspect ratio.',
  black_frames: 'Keep every moment visibly lit: no fades to black, no dark or empty frames.',
  frozen_frames: 'Keep the shot in continuous motion (camera movement or subject action): no static holds or freeze frames.',
  silence: 'Keep continuous audible sound throughout: no silent gaps.',
  // From a vision reviewer (src/providers/vision.ts).
  waxy_skin: 'Natural skin with pores and texture: no waxy, plastic or airbrushed look.',
  malformed_anatomy: 'Anatomically correct hands and limbs: five fingers per hand, natural joints.',
  warped_text: 'Keep any text and signs crisp and legible, or leave text out of the shot.',
  flicker: 'Keep objects and details stable from frame to frame: nothing popping in or out.',
  identity_drift: 'Keep each character identical to the earlier scenes: same face, build, fur or clothing.',
};

const HARD_PENALTY: Record<string, number> = {
  missing_video: 1,
  missing_audio: 0.4,
  wrong_duration: 0.4,
  wrong_resolution: 0.3,
};

/** Score 0..1 from the failures: hard failures cost a fixed amount, stretches by how much they cover. */
export function scoreFailures(failures: ReviewFailure[], durationS: number): number {
  let penalty = 0;
  const covered = new Map<string, number>();
  for (const f of failures) {
    if (HARD_PENALTY[f.check] !== undefined) penalty += HARD_PENALTY[f.check]!;
    else if (f.duration_s !== undefined && durationS > 0) covered.set(f.check, (covered.get(f.check) ?? 0) + f.duration_s / durationS);
    else penalty += 0.25;
  }
  for (const fraction of covered.values()) penalty += Math.min(0.75, 0.15 + 0.6 * Math.min(1, fraction));
  return Math.max(0, Math.round((1 - penalty) * 100) / 100);
}

/** Text to append to a prompt so that a reroll avoids these failures (null when there are none). */
export function rerollHint(failures: ReviewFailure[], expectedDurationS?: number): string | null {
  if (!failures.length) return null;
  const checks = [...new Set(failures.map((f) => f.check))];
  const parts = checks.map((c) =>
    c === 'wrong_duration' && expectedDurationS !== undefined
      ? `Match the requested duration exactly (${round2(expectedDurationS)} s).`
      : (HINTS[c] ?? `Avoid: ${failures.find((f) => f.check === c)!.message}.`),
  );
  return parts.join(' ');
}

function stretchFailures(check: RubricCheck, what: string, stretches: Stretch[]): ReviewFailure[] {
  return stretches.map((s) => ({
    check,
    message: `${what} from ${round2(s.startS)} s to ${round2(s.endS)} s (${round2(s.endS - s.startS)} s)`,
    at_s: round2(s.startS),
    duration_s: round2(s.endS - s.startS),
  }));
}

export interface SignalRubricOptions {
  thresholds?: Partial<RubricThresholds>;
  timeoutMs?: number;
}

/** The built-in review provider: probe checks plus the signal measurements. */
export class SignalRubric implements VisionReviewProvider {
  readonly name = 'signal';
  private readonly thresholds: RubricThresholds;

  constructor(private readonly opts: SignalRubricOptions = {}) {
    this.thresholds = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
  }

  async review(req: ReviewRequest): Promise<{ failures: ReviewFailure[] }> {
    const { failures } = await this.check(req);
    return { failures };
  }

  /** The full verdict: pass, score, failures, reroll hint and the probe. */
  async check(req: ReviewRequest): Promise<RubricResult> {
    let probe: MediaProbe;
    try {
      probe = await probeMedia(req.videoPath, { signal: req.signal });
    } catch (err) {
      if (!(err instanceof MediaError) || err.code !== 'probe_failed') throw err;
      const failures: ReviewFailure[] = [{ check: 'missing_video', message: `not readable media: ${withoutLocalPaths(err.message)}` }];
      return { pass: false, score: 0, failures, reroll_hint: rerollHint(failures, req.expectedDurationS), probe: null };
    }
    const failures = probeChecks(probe, req, this.thresholds);
    const found = await detectStretches(req.videoPath, probe, {
      expectAudio: req.expectAudio,
      thresholds: this.thresholds,
      signal: req.signal,
      timeoutMs: this.opts.timeoutMs,
    });
    // A black stretch is also a still one: report it once, as black.
    const frozen = found.frozen.filter((f) => !found.black.some((b) => b.startS - 0.1 <= f.startS && f.endS <= b.endS + 0.1));
    failures.push(
      ...stretchFailures('black_frames', 'black picture', found.black),
      ...stretchFailures('frozen_frames', 'frozen picture', frozen),
      ...stretchFailures('silence', 'silence', found.silent),
    );
    failures.sort((a, b) => (a.at_s ?? -1) - (b.at_s ?? -1));
    return {
      pass: failures.length === 0,
      score: scoreFailures(failures, probe.durationS),
      failures,
      reroll_hint: rerollHint(failures, req.expectedDurationS),
      probe,
    };
  }
}

/**
 * quality_check: the signal rubric plus any other review providers (e.g. a remote vision model),
 * merged into one verdict.
 */
export async function qualityCheck(
  req: ReviewRequest,
  opts: { rubric?: SignalRubric; extraProviders?: VisionReviewProvider[] } = {},
): Promise<RubricResult> {
  const base = await (opts.rubric ?? new SignalRubric()).check(req);
  if (!opts.extraProviders?.length || !base.probe) return base;
  const extra = await Promise.all(opts.extraProviders.map((p) => p.review(req)));
  const seen = new Set(base.failures.map((f) => `${f.check}@${f.at_s ?? ''}`));
  const failures = [...base.failures];
  for (const f of extra.flatMap((r) => r.failures)) {
    const key = `${f.check}@${f.at_s ?? ''}`;
    if (!seen.has(key)) {
      seen.add(key);
      failures.push(f);
    }
  }
  failures.sort((a, b) => (a.at_s ?? -1) - (b.at_s ?? -1));
  return {
    pass: failures.length === 0,
    score: scoreFailures(failures, base.probe.durationS),
    failures,
    reroll_hint: rerollHint(failures, req.expectedDurationS),
    probe: base.probe,
  };
}
