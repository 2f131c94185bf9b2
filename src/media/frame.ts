import { stat } from 'node:fs/promises';
import { runFfmpeg, type RunOptions } from './binaries.js';
import { MediaError } from './errors.js';
import { writeAtomically } from './files.js';
import { probeMedia } from './probe.js';

export interface FrameRequest {
  inputPath: string;
  /** Seconds from the start; clamped into the media. */
  atS: number;
  /** Where to write the PNG. */
  outPath: string;
  /** Scale down (aspect kept) so the longer side is at most this many pixels; never up. */
  maxSide?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface FrameResult {
  path: string;
  width: number;
  height: number;
  /** The time actually extracted, after clamping. */
  atS: number;
}

/** A PNG still of a video (or image) at time `atS`, clamped into [0, last frame]. */
export async function extractFrame(req: FrameRequest): Promise<FrameResult> {
  const run: RunOptions = { signal: req.signal, timeoutMs: req.timeoutMs ?? 60_000 };
  const probe = await probeMedia(req.inputPath, run);
  if (!probe.hasVideo) throw new MediaError('invalid_input', `no video stream in ${req.inputPath}`);
  const frameS = 1 / (probe.fps && probe.fps < 1000 ? probe.fps : 25);
  const lastS = Math.max(0, (probe.videoDurationS ?? probe.durationS) - frameS);
  const requested = Number.isFinite(req.atS) ? req.atS : 0;
  const atS = Math.min(Math.max(0, requested), lastS);
  await writeAtomically(req.outPath, async (tmpOut) => {
    const m = req.maxSide && req.maxSide > 0 ? Math.floor(req.maxSide) : 0;
    // The longer side becomes min(itself, m); -2 keeps the aspect with an even other side.
    const scale = m ? ['-vf', `scale='if(gte(iw,ih),min(iw,${m}),-2)':'if(gte(iw,ih),-2,min(ih,${m}))'`] : [];
    const grab = (seek: string[]) =>
      runFfmpeg(['-loglevel', 'error', ...seek, '-i', req.inputPath, '-frames:v', '1', '-an', ...scale, '-f', 'image2', '-update', '1', '-c:v', 'png', tmpOut], run);
    await grab(['-ss', atS.toFixed(3)]);
    // A seek at the very end can yield no frame (last frame shorter than reported): take the last one.
    if (!(await nonEmpty(tmpOut)) && atS > 0) await grab(['-sseof', '-1']);
    if (!(await nonEmpty(tmpOut))) throw new MediaError('ffmpeg_failed', `no frame at ${atS}s in ${req.inputPath}`);
  });
  const still = await probeMedia(req.outPath, run);
  return { path: req.outPath, width: still.width, height: still.height, atS };
}

async function nonEmpty(file: string): Promise<boolean> {
  try {
    return (await stat(file)).size > 0;
  } catch {
    return false;
  }
}
